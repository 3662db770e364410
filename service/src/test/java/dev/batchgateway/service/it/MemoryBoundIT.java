package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A worker started with exactly the heap docs/architecture.md ("Memory") gives for its settings
 * runs a batch of the largest lines and answers those settings allow, refuses a 100 MiB line at
 * validation, and survives a backend that streams a 1 GiB answer: that line alone ends in {@code
 * response_too_large}. The backend is an in-test server, since the simulator cannot make answers
 * this large.
 */
class MemoryBoundIT {
  private static final long MIB = 1024 * 1024;
  private static final String TENANT = TestStack.uniqueTenant("memory");
  private static final String KEY = "sk-memory";
  private static final String MODEL = "fake-embed";
  private static final String GIANT_MARKER = "GIVE-ME-A-GIANT-ANSWER";

  // Small settings, so the formula's heap is small and the limits are hit quickly.
  private static final int CHUNKS = 2;
  private static final int LIFECYCLE = 2;
  private static final int CONCURRENCY = 2;
  private static final long MAX_LINE = MIB;
  private static final long CHUNK_BYTES = 2 * MIB;
  private static final long MAX_RESPONSE = 8 * MIB;
  private static final int MAX_REQUESTS = 1000;
  private static final long GIANT_ANSWER = 1024 * MIB;

  private static final ExecutorService engineThreads = Executors.newCachedThreadPool();
  private static final AtomicInteger giantRequests = new AtomicInteger();
  private static final AtomicLong giantBytesWritten = new AtomicLong();
  private static HttpServer engine;
  private static byte[] largestAnswer;
  private static GatewayProcess api;
  private static GatewayProcess worker;
  private static long workerHeap;

  /** docs/architecture.md, "Memory": the worst-case heap of a worker. */
  static long workerHeap(
      long base,
      int chunks,
      int lifecycle,
      int concurrency,
      long chunkBytes,
      long maxLine,
      long maxResponse,
      int maxRequests) {
    return base
        + chunks * (chunkBytes + maxLine + Math.max(2L * concurrency, 6) * maxResponse)
        + lifecycle * (maxLine + chunkBytes + 6 * maxResponse + 100L * maxRequests)
        + 32 * maxLine;
  }

  @BeforeAll
  static void start() throws Exception {
    largestAnswer = embeddingsAnswer((int) MAX_RESPONSE - 4096);
    engine = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    engine.setExecutor(engineThreads);
    engine.createContext(
        "/v1/models",
        exchange -> answer(exchange, ("{\"data\":[{\"id\":\"" + MODEL + "\"}]}").getBytes()));
    engine.createContext("/v1/embeddings", MemoryBoundIT::embeddings);
    engine.start();

    String files = Files.createTempDirectory("bgw-memory-it-").toString();
    Map<String, String> config = new LinkedHashMap<>();
    config.put("database.url", TestStack.env("BGW_TEST_DB_URL"));
    config.put("database.user", TestStack.env("BGW_TEST_DB_USER"));
    config.put("database.password", TestStack.env("BGW_TEST_DB_PASSWORD"));
    config.put("temporal.target", TestStack.env("BGW_TEST_TEMPORAL"));
    config.put("temporal.maxConcurrentActivities", Integer.toString(CHUNKS));
    config.put("temporal.maxConcurrentLifecycleActivities", Integer.toString(LIFECYCLE));
    config.put("inference.url", "http://127.0.0.1:" + engine.getAddress().getPort());
    config.put("inference.models", MODEL);
    config.put("limiter.type", "local");
    config.put("capacity.mode", "fixed");
    config.put("files.root", files);
    config.put("apiKeys", KEY + ":" + TENANT);
    config.put("logging.level", "WARN");
    config.put("batches.maxRequests", Integer.toString(MAX_REQUESTS));
    config.put("batches.parallelChunks", Integer.toString(CHUNKS));
    config.put("batches.chunkConcurrency", Integer.toString(CONCURRENCY));
    config.put("batches.chunkLines", "4");
    config.put("batches.segmentLines", "2");
    config.put("batches.maxLineSize", MAX_LINE + "B");
    config.put("batches.chunkBytes", CHUNK_BYTES + "B");
    config.put("batches.maxResponseSize", MAX_RESPONSE + "B");
    config.put("batches.maxAttempts", "3");
    config.put("batches.initialBackoff", "10ms");
    config.put("batches.maxBackoff", "100ms");

    workerHeap =
        workerHeap(
            WORKER_BASE_HEAP,
            CHUNKS,
            LIFECYCLE,
            CONCURRENCY,
            CHUNK_BYTES,
            MAX_LINE,
            MAX_RESPONSE,
            MAX_REQUESTS);
    api = GatewayProcess.start("api", 512 * MIB, config);
    worker = GatewayProcess.start("worker", workerHeap, config);
    api.awaitHealthy(Duration.ofMinutes(2));
    worker.awaitHealthy(Duration.ofMinutes(2));
  }

  /** What a worker takes before any batch: Dropwizard, Jersey, Temporal, clients, metrics. */
  static final long WORKER_BASE_HEAP = 96 * MIB;

  @AfterAll
  static void stop() throws Exception {
    if (worker != null) {
      worker.close();
    }
    if (api != null) {
      api.close();
    }
    if (engine != null) {
      engine.stop(0);
    }
    engineThreads.shutdownNow();
  }

  @Test
  void aWorkerAtTheFormulasHeapRunsTheLargestInputsAndSurvivesGiantOnes() throws Exception {
    Api client = new Api(api.httpPort, KEY);
    System.out.printf(
        "MemoryBoundIT: worker -Xmx%dm (formula, base %d MiB)%n",
        workerHeap / MIB, WORKER_BASE_HEAP / MIB);

    // A 100 MiB line is refused at validation, by its line number, without being read whole.
    String giantLine = line("g-1", "a".repeat((int) (100 * MIB)));
    String giantFile = line("g-0", "small") + "\n" + giantLine + "\n" + line("g-2", "small") + "\n";
    JsonNode refused =
        awaitTerminal(
            client,
            client
                .createBatch(client.uploadBatchFile(giantFile), "/v1/embeddings", null)
                .get("id")
                .asText(),
            Duration.ofMinutes(3));
    giantFile = null;
    giantLine = null;
    assertThat(refused.get("status").asText()).isEqualTo("failed");
    JsonNode error = refused.at("/errors/data/0");
    assertThat(refused.at("/errors/data").size()).isEqualTo(1);
    assertThat(error.get("code").asText()).isEqualTo("line_too_large");
    assertThat(error.get("line").asInt()).isEqualTo(2);
    assertThat(error.get("message").asText()).contains(MAX_LINE + " bytes");
    assertThat(worker.process.isAlive()).as("worker alive after the giant line").isTrue();

    // Lines as long as allowed, each answered as long as allowed, and one answered with 1 GiB.
    int lines = 10;
    String padding = "b".repeat((int) MAX_LINE - 200);
    StringBuilder file = new StringBuilder();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < lines; i++) {
      String id = "m-" + i;
      ids.add(id);
      file.append(line(id, (i == 5 ? GIANT_MARKER : "") + padding)).append('\n');
    }
    assertThat(file.toString().split("\n"))
        .allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo((int) MAX_LINE));
    long started = System.nanoTime();
    JsonNode batch =
        awaitTerminal(
            client,
            client
                .createBatch(client.uploadBatchFile(file.toString()), "/v1/embeddings", null)
                .get("id")
                .asText(),
            Duration.ofMinutes(5));
    long seconds = (System.nanoTime() - started) / 1_000_000_000;

    assertThat(worker.process.isAlive()).as("worker alive after the giant answer").isTrue();
    assertThat(batch.get("status").asText()).isEqualTo("completed");
    List<JsonNode> output = resultLines(client, batch.get("output_file_id").asText(null));
    List<JsonNode> errors = resultLines(client, batch.get("error_file_id").asText(null));
    Invariants.assertHold(batch, output, errors, ids);
    assertThat(output).hasSize(lines - 1);
    assertThat(errors).hasSize(1);
    JsonNode tooLarge = errors.getFirst();
    assertThat(tooLarge.get("custom_id").asText()).isEqualTo("m-5");
    assertThat(tooLarge.get("response").isNull()).isTrue();
    assertThat(tooLarge.at("/error/code").asText()).isEqualTo("response_too_large");
    assertThat(tooLarge.at("/error/message").asText())
        .contains("batches.maxResponseSize")
        .contains(MAX_RESPONSE + " bytes");
    assertThat(giantRequests.get()).as("the giant answer's request is not retried").isEqualTo(1);
    assertThat(giantBytesWritten.get()).isLessThan(GIANT_ANSWER);
    assertThat(batch.at("/usage/input_tokens").asLong()).isEqualTo(5L * (lines - 1));
    System.out.printf(
        "MemoryBoundIT: %d lines of %d KiB answered with %d KiB each in %d s; the giant answer"
            + " was cut after %d MiB sent%n",
        lines,
        MAX_LINE / 1024,
        largestAnswer.length / 1024,
        seconds,
        giantBytesWritten.get() / MIB);
  }

  /** As {@link Api#awaitTerminal}, failing at once with the worker's log should it exit. */
  private static JsonNode awaitTerminal(Api client, String batchId, Duration timeout)
      throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JsonNode batch = Api.json(client.get("/v1/batches/" + batchId));
      if (List.of("completed", "failed", "expired", "cancelled")
          .contains(batch.get("status").asText())) {
        return batch;
      }
      if (!worker.process.isAlive()) {
        throw new AssertionError(
            "The worker exited with " + worker.process.exitValue() + ":\n" + worker.tail());
      }
      assertThat(System.nanoTime()).as("batch %s still running", batchId).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  private static String line(String customId, String input) {
    return "{\"custom_id\":\""
        + customId
        + "\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{\"model\":\""
        + MODEL
        + "\",\"input\":\""
        + input
        + "\"}}";
  }

  /**
   * The lines of a result file, each reduced to its top-level keys with {@code response} cut to its
   * status code: enough for the invariants without a tree of every 8 MiB answer.
   */
  private static List<JsonNode> resultLines(Api client, String fileId) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    if (fileId == null) {
      return lines;
    }
    byte[] content = client.getBytes("/v1/files/" + fileId + "/content").body();
    int start = 0;
    for (int i = 0; i <= content.length; i++) {
      if (i < content.length && content[i] != '\n') {
        continue;
      }
      if (i > start) {
        lines.add(reduced(Arrays.copyOfRange(content, start, i)));
      }
      start = i + 1;
    }
    return lines;
  }

  private static JsonNode reduced(byte[] line) throws IOException {
    ObjectNode node = Api.JSON.createObjectNode();
    try (JsonParser parser = Api.JSON.createParser(line)) {
      assertThat(parser.nextToken()).isEqualTo(JsonToken.START_OBJECT);
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if (field.equals("response") && value == JsonToken.START_OBJECT) {
          ObjectNode response = node.putObject("response");
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String inner = parser.currentName();
            parser.nextToken();
            if (inner.equals("status_code")) {
              response.put("status_code", parser.getIntValue());
            } else {
              parser.skipChildren();
            }
          }
        } else {
          node.set(field, parser.readValueAsTree());
        }
      }
      assertThat(parser.nextToken()).isNull();
    }
    return node;
  }

  private static void embeddings(HttpExchange exchange) throws IOException {
    byte[] request = exchange.getRequestBody().readAllBytes();
    if (!new String(request, StandardCharsets.ISO_8859_1).contains(GIANT_MARKER)) {
      answer(exchange, largestAnswer);
      return;
    }
    giantRequests.incrementAndGet();
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, 0);
    byte[] block = "0.0123456789,".repeat(5000).getBytes(StandardCharsets.US_ASCII);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write("{\"data\":[{\"embedding\":[".getBytes(StandardCharsets.US_ASCII));
      while (giantBytesWritten.get() < GIANT_ANSWER) {
        out.write(block);
        giantBytesWritten.addAndGet(block.length);
      }
    } catch (IOException cutOffByTheGateway) {
      // expected: the gateway stops reading at maxResponseSize and closes the connection
    }
  }

  private static void answer(HttpExchange exchange, byte[] body) throws IOException {
    exchange.getRequestBody().readAllBytes();
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** An embeddings answer of about {@code size} bytes, mostly numbers, as real ones are. */
  private static byte[] embeddingsAnswer(int size) {
    StringBuilder json = new StringBuilder(size);
    json.append("{\"object\":\"list\",\"model\":\"").append(MODEL).append("\",\"data\":[");
    json.append("{\"object\":\"embedding\",\"index\":0,\"embedding\":[");
    String tail = "0.5]}],\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}";
    while (json.length() < size - tail.length() - 16) {
      json.append("-0.0123456789,");
    }
    json.append(tail);
    return json.toString().getBytes(StandardCharsets.US_ASCII);
  }
}
