package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.ModelListUnavailableException;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.activities.port.RequestContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The served-model list read from a server that hangs, fails, or comes back. */
class ModelDiscoveryTest {
  private static final String MODEL = "Qwen/Qwen3-0.6B";
  private static final PoolRetry RETRY =
      new PoolRetry(5, Duration.ofMillis(500), Duration.ofSeconds(30));

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger modelReads = new AtomicInteger();
  private HttpServer server;

  /** What /v1/models does: "hang", "fail" (HTTP 500) or "answer". */
  private volatile String behaviour = "answer";

  @AfterEach
  void stop() {
    release.countDown();
    if (server != null) {
      server.stop(0);
    }
    executor.shutdownNow();
  }

  @Test
  void aHangingModelListHoldsUpNoCallerAndFailsClosed() throws Exception {
    behaviour = "hang";
    HttpInferenceClient client = client();

    // Before: every look waited for the 5 s timeout of its own read. Now one read runs in the
    // background, the first look waits for it 2 s at most, the rest not at all.
    assertTimeoutPreemptively(
        Duration.ofSeconds(15),
        () -> {
          for (int i = 0; i < 200; i++) {
            assertThatThrownBy(() -> client.poolFor(MODEL))
                .isInstanceOf(ModelListUnavailableException.class)
                .hasMessageContaining("inference pool 'default'")
                .hasMessageContaining(MODEL);
          }
        });
    assertThat(modelReads.get()).as("one read at a time").isEqualTo(1);
  }

  @Test
  void aRequestForAModelNobodyCanVouchForIsNotSentAndNotCalledUnknown() throws Exception {
    behaviour = "fail";
    HttpInferenceClient client = client();

    var answer =
        client.send(
            new InferenceRequest(
                MODEL,
                "/v1/chat/completions",
                "{}".getBytes(StandardCharsets.UTF_8),
                Map.of(),
                new RequestContext("acme", "batch_1", 0, Map.of())));

    assertThatThrownBy(answer::get)
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(ModelListUnavailableException.class)
        .hasMessageContaining("HTTP 500");
  }

  @Test
  void aListThatFailsAtFirstIsReadAgainAndThenServes() throws Exception {
    behaviour = "fail";
    HttpInferenceClient client = client();
    assertThatThrownBy(() -> client.poolFor(MODEL))
        .isInstanceOf(ModelListUnavailableException.class);

    behaviour = "answer";
    Optional<String> pool = Optional.empty();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (pool.isEmpty() && System.nanoTime() < deadline) {
      try {
        pool = client.poolFor(MODEL);
      } catch (ModelListUnavailableException e) {
        Thread.sleep(100);
      }
    }

    assertThat(pool).contains("default");
    assertThat(client.poolFor("not-served")).as("a known list refuses other models").isEmpty();
  }

  private HttpInferenceClient client() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(executor);
    server.createContext(
        "/v1/models",
        exchange -> {
          modelReads.incrementAndGet();
          switch (behaviour) {
            case "hang" -> {
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              exchange.close();
            }
            case "fail" -> {
              exchange.sendResponseHeaders(500, -1);
              exchange.close();
            }
            default -> {
              byte[] body =
                  ("{\"object\":\"list\",\"data\":[{\"id\":\"" + MODEL + "\"}]}")
                      .getBytes(StandardCharsets.UTF_8);
              exchange.sendResponseHeaders(200, body.length);
              exchange.getResponseBody().write(body);
              exchange.close();
            }
          }
        });
    server.start();
    String yaml =
        """
        pools:
          - name: default
            endpoints: [{url: "http://127.0.0.1:%d"}]
        """
            .formatted(server.getAddress().getPort());
    return new HttpInferenceClient(
        PoolsYaml.read(yaml), RETRY, new ObjectMapper(), Clock.systemUTC(), name -> null);
  }
}
