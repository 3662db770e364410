package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.service.files.TestS3Server;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A batch input of about 200 MB and its output, as large again, go through the S3 store while the
 * worker runs in a JVM of its own with a 512 MiB heap: S3Proxy (objects on disk), the API, the
 * worker and an echoing simulator are four processes. Every custom_id comes back exactly once and
 * the worker never runs out of memory (it runs with {@code -XX:+ExitOnOutOfMemoryError}, so an
 * OutOfMemoryError would end it). The figures it prints are the ones docs/benchmarks.md quotes.
 */
class S3LargeBatchIT {
  private static final long MIB = 1024 * 1024;
  private static final long WORKER_HEAP = 512 * MIB;
  private static final String TENANT = TestStack.uniqueTenant("s3-large");
  private static final String KEY = "sk-s3-large";
  private static final String BUCKET = "gateway-large-it";
  private static final int LINES = 48_000;
  private static final int PROMPT_CHARS = 4_000;

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static Process s3;
  private static String s3Endpoint;
  private static Simulator engine;
  private static GatewayProcess api;
  private static GatewayProcess worker;
  private static Path scratch;

  @BeforeAll
  static void start() throws Exception {
    scratch = Files.createTempDirectory("bgw-s3-large-");
    startS3(scratch.resolve("s3"), scratch.resolve("s3.log"));
    try (S3Client client = TestS3Server.client(s3Endpoint)) {
      client.createBucket(b -> b.bucket(BUCKET));
    }
    engine = Simulator.startEcho(128, scratch.resolve("simulator.log"));
    api = GatewayProcess.start("api", 512 * MIB, config("api"));
    worker = GatewayProcess.start("worker", WORKER_HEAP, config("worker"));
    api.awaitHealthy(Duration.ofMinutes(2));
    worker.awaitHealthy(Duration.ofMinutes(2));
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable part : new AutoCloseable[] {worker, api, engine}) {
      if (part != null) {
        part.close();
      }
    }
    if (s3 != null) {
      s3.destroyForcibly().waitFor();
    }
    if (scratch != null) {
      try (var paths = Files.walk(scratch)) {
        paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** S3Proxy in a JVM of its own, its objects in {@code dir}. */
  private static void startS3(Path dir, Path log) throws Exception {
    Path endpointFile = scratch.resolve("s3.endpoint");
    s3 =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-cp",
                System.getProperty("java.class.path"),
                TestS3Server.class.getName(),
                dir.toString(),
                endpointFile.toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
    while (!Files.exists(endpointFile)) {
      assertThat(s3.isAlive()).as("S3Proxy running; its log:\n" + Files.readString(log)).isTrue();
      assertThat(System.nanoTime()).as("S3Proxy started; its log: " + log).isLessThan(deadline);
      Thread.sleep(100);
    }
    s3Endpoint = Files.readString(endpointFile);
  }

  private static Map<String, String> config(String role) throws IOException {
    Map<String, String> config = new LinkedHashMap<>();
    config.put("database.url", TestStack.env("BGW_TEST_DB_URL"));
    config.put("database.user", TestStack.env("BGW_TEST_DB_USER"));
    config.put("database.password", TestStack.env("BGW_TEST_DB_PASSWORD"));
    config.put("temporal.target", TestStack.env("BGW_TEST_TEMPORAL"));
    config.put("inference.url", engine.baseUrl);
    config.put("inference.models", Simulator.MODEL);
    config.put("limiter.type", "local");
    config.put("capacity.mode", "fixed");
    config.put("apiKeys", KEY + ":" + TENANT);
    config.put("logging.level", "WARN");
    config.put("files.type", "s3");
    config.put("files.root", Files.createDirectories(scratch.resolve(role)) + "/files");
    config.put("files.s3.endpoint", s3Endpoint);
    config.put("files.s3.bucket", BUCKET);
    config.put("files.s3.pathStyle", "true");
    config.put("files.s3.accessKeyId", TestS3Server.ACCESS_KEY);
    config.put("files.s3.secretAccessKey", TestS3Server.SECRET_KEY);
    return config;
  }

  /** {@link #LINES} chat lines of about {@link #PROMPT_CHARS} characters of words each. */
  private static long writeInput(Path input) throws IOException {
    Random random = new Random(42);
    try (BufferedWriter out = Files.newBufferedWriter(input, StandardCharsets.UTF_8)) {
      StringBuilder prompt = new StringBuilder(PROMPT_CHARS + 16);
      for (int i = 0; i < LINES; i++) {
        prompt.setLength(0);
        prompt.append("Request ").append(i).append(':');
        while (prompt.length() < PROMPT_CHARS) {
          prompt.append(" w").append(random.nextInt(100_000));
        }
        out.write(Lines.chat("big-" + i, Simulator.MODEL, null, prompt.toString(), 4_000));
        out.write('\n');
      }
    }
    return Files.size(input);
  }

  /** Streams the file from disk as the {@code file} part of a multipart upload. */
  private static String upload(Path input) throws Exception {
    String boundary = "----bgw" + UUID.randomUUID();
    String head =
        "--"
            + boundary
            + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
            + boundary
            + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jsonl\""
            + "\r\nContent-Type: application/octet-stream\r\n\r\n";
    String tail = "\r\n--" + boundary + "--\r\n";
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.httpPort + "/v1/files"))
                .header("Authorization", "Bearer " + KEY)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .timeout(Duration.ofMinutes(5))
                .POST(
                    HttpRequest.BodyPublishers.concat(
                        HttpRequest.BodyPublishers.ofString(head),
                        HttpRequest.BodyPublishers.ofFile(input),
                        HttpRequest.BodyPublishers.ofString(tail)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return Api.parse(response.body()).get("id").asText();
  }

  /** Every line of a stored file, read as a stream: how often each custom_id occurs, and bytes. */
  private static long countCustomIds(String fileId, Map<String, Integer> seen) throws Exception {
    HttpResponse<InputStream> response =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + api.httpPort + "/v1/files/" + fileId + "/content"))
                .header("Authorization", "Bearer " + KEY)
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(response.statusCode()).isEqualTo(200);
    long bytes = 0;
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        bytes += line.getBytes(StandardCharsets.UTF_8).length + 1;
        JsonNode parsed = Api.parse(line);
        assertThat(parsed.at("/response/status_code").asInt())
            .as("status of " + parsed.get("custom_id"))
            .isEqualTo(200);
        seen.merge(parsed.get("custom_id").asText(), 1, Integer::sum);
      }
    }
    return bytes;
  }

  /** A line of {@code /proc/<pid>/status} in KiB, e.g. VmHWM (peak resident set). */
  private static long procStatusKib(long pid, String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith(field + ":")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException(field + " not in /proc/" + pid + "/status");
  }

  /**
   * Two of the worker's gauges from its admin /metrics, in bytes: {@code jvm.memory.heap.used}
   * (garbage included) and the old generation's {@code used-after-gc} (what survived the last
   * collection), or -1 where the collector has no such pool.
   */
  private static long[] heap() throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + worker.adminPort + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode gauges = Api.parse(response.body()).get("gauges");
    long oldAfterGc = -1;
    for (var names = gauges.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (name.startsWith("jvm.memory.pools.")
          && name.contains("Old")
          && name.endsWith(".used-after-gc")) {
        oldAfterGc = gauges.get(name).get("value").asLong();
      }
    }
    return new long[] {gauges.at("/jvm.memory.heap.used/value").asLong(), oldAfterGc};
  }

  @Test
  void aTwoHundredMegabyteBatchRunsThroughS3InA512MiBWorker() throws Exception {
    Path input = scratch.resolve("input.jsonl");
    long inputBytes = writeInput(input);
    assertThat(inputBytes).isBetween(190_000_000L, 200L * MIB);

    AtomicLong peakHeap = new AtomicLong();
    AtomicLong peakOldAfterGc = new AtomicLong(-1);
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    sampler.scheduleAtFixedRate(
        () -> {
          try {
            long[] heap = heap();
            peakHeap.accumulateAndGet(heap[0], Math::max);
            peakOldAfterGc.accumulateAndGet(heap[1], Math::max);
          } catch (Exception workerGone) {
            // its death is asserted below
          }
        },
        0,
        200,
        TimeUnit.MILLISECONDS);

    long started = System.nanoTime();
    String fileId = upload(input);
    long uploaded = System.nanoTime();
    Api client = new Api(api.httpPort, KEY);
    String id = client.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    JsonNode batch = client.awaitTerminal(id, Duration.ofMinutes(15));
    long finished = System.nanoTime();
    sampler.shutdownNow();

    assertThat(worker.process.isAlive()).as("worker alive; its log:\n" + worker.tail()).isTrue();
    assertThat(Files.readString(worker.log)).doesNotContain("OutOfMemoryError");
    assertThat(batch.get("status").asText()).as(batch.toString()).isEqualTo("completed");
    assertThat(batch.at("/request_counts/completed").asInt()).isEqualTo(LINES);
    assertThat(batch.at("/request_counts/failed").asInt()).isZero();

    Map<String, Integer> seen = new HashMap<>();
    long outputBytes = countCustomIds(batch.get("output_file_id").asText(), seen);
    long downloaded = System.nanoTime();
    assertThat(seen).hasSize(LINES);
    assertThat(seen.values()).as("every custom_id exactly once").containsOnly(1);
    for (int i = 0; i < LINES; i += 997) {
      assertThat(seen).containsKey("big-" + i);
    }
    assertThat(outputBytes)
        .as("the echoed answers are as large as the prompts")
        .isGreaterThan(inputBytes);
    try (S3Client s3Client = TestS3Server.client(s3Endpoint)) {
      List<String> keys =
          s3Client.listObjectsV2Paginator(b -> b.bucket(BUCKET)).contents().stream()
              .map(o -> o.key())
              .toList();
      assertThat(keys)
          .as("input and output are objects in the bucket")
          .contains(
              StorageKeys.file(TENANT, fileId),
              StorageKeys.file(TENANT, batch.get("output_file_id").asText()));
    }

    System.out.printf(
        "S3LargeBatchIT: %d lines, input %d bytes, output %d bytes; worker -Xmx%dm: peak RSS"
            + " (VmHWM) %d MiB, heap sampled every 200 ms: peak used %d MiB, peak old generation"
            + " after GC %d MiB; API peak RSS %d MiB; upload %.1f s, batch %.1f s, download %.1f"
            + " s%n",
        LINES,
        inputBytes,
        outputBytes,
        WORKER_HEAP / MIB,
        procStatusKib(worker.process.pid(), "VmHWM") / 1024,
        peakHeap.get() / MIB,
        peakOldAfterGc.get() < 0 ? -1 : peakOldAfterGc.get() / MIB,
        procStatusKib(api.process.pid(), "VmHWM") / 1024,
        (uploaded - started) / 1e9,
        (finished - uploaded) / 1e9,
        (downloaded - finished) / 1e9);
  }
}
