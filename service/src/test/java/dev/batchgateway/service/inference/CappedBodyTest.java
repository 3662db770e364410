package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.activities.port.ResponseTooLargeException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Answers past {@code batches.maxResponseSize} are cut off, not buffered. */
class CappedBodyTest {
  private static final int LIMIT = 64 * 1024;
  private static final long HUGE = 200L * 1024 * 1024;

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final AtomicLong hugeBytesWritten = new AtomicLong();
  private HttpServer server;
  private HttpInferenceClient client;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(executor);
    server.createContext("/v1/models", exchange -> answer(exchange, 200, "{\"data\":[]}"));
    server.createContext(
        "/v1/chat/completions",
        exchange -> answer(exchange, 200, "{\"pad\":\"" + "x".repeat(LIMIT - 10) + "\"}"));
    server.createContext("/v1/completions", exchange -> stream(exchange, HUGE));
    server.createContext("/v1/embeddings", exchange -> stream(exchange, 0));
    server.start();
    String yaml =
        "pools:\n  - name: p\n    models: [m]\n    endpoints: [{url: \"http://127.0.0.1:%d\"}]\n"
            .formatted(server.getAddress().getPort());
    client =
        new HttpInferenceClient(
            PoolsYaml.read(yaml),
            new PoolRetry(1, Duration.ofMillis(1), Duration.ofMillis(1)),
            LIMIT,
            new ObjectMapper(),
            Clock.systemUTC(),
            name -> null);
  }

  @AfterEach
  void stop() {
    server.stop(0);
    executor.shutdownNow();
  }

  /** Writes a huge body, declaring its length unless {@code declared} is 0 (then chunked). */
  private void stream(com.sun.net.httpserver.HttpExchange exchange, long declared)
      throws IOException {
    exchange.getRequestBody().readAllBytes();
    exchange.sendResponseHeaders(200, declared);
    byte[] block = new byte[64 * 1024];
    Arrays.fill(block, (byte) '1');
    try (OutputStream out = exchange.getResponseBody()) {
      while (hugeBytesWritten.get() < HUGE) {
        out.write(block);
        hugeBytesWritten.addAndGet(block.length);
      }
    } catch (IOException closedByClient) {
      // what the test expects
    }
  }

  private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String body)
      throws IOException {
    exchange.getRequestBody().readAllBytes();
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  private InferenceResponse send(String path) throws Exception {
    return client
        .send(new InferenceRequest("m", path, "{\"model\":\"m\"}".getBytes(), Map.of()))
        .get(30, TimeUnit.SECONDS);
  }

  @Test
  void anAnswerUpToTheLimitIsReadWhole() throws Exception {
    InferenceResponse response = send("/v1/chat/completions");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).hasSize(LIMIT);
  }

  @Test
  void aStreamedAnswerPastTheLimitIsCutOff() throws Exception {
    assertThatThrownBy(() -> send("/v1/embeddings"))
        .isInstanceOf(ExecutionException.class)
        .satisfies(e -> assertThat(ResponseTooLargeException.in(e).limitBytes()).isEqualTo(LIMIT));
    // The connection was closed: the server could not write the whole answer.
    Thread.sleep(500);
    assertThat(hugeBytesWritten.get()).isLessThan(HUGE);
    // And the client still works.
    assertThat(send("/v1/chat/completions").statusCode()).isEqualTo(200);
  }

  @Test
  void aDeclaredLengthPastTheLimitIsNotRead() {
    assertThatThrownBy(() -> send("/v1/completions"))
        .isInstanceOf(ExecutionException.class)
        .satisfies(e -> assertThat(ResponseTooLargeException.in(e).limitBytes()).isEqualTo(LIMIT));
  }
}
