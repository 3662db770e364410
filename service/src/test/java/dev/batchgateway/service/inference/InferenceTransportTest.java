package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.activities.port.ResponseTooLargeException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What every {@code inference.client} must do, against a real HTTP server in the JVM: keep
 * connections alive, hand each caller its own answer, stop at the size limit, time out, report a
 * refused connection as one, and pass overload answers on with their {@code Retry-After}.
 */
class InferenceTransportTest {
  private static final int LIMIT = 32 * 1024;

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
  private HttpServer server;
  private HttpInferenceClient client;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(executor);
    server.createContext("/v1/chat/completions", this::echo);
    server.createContext("/v1/completions", exchange -> overloaded(exchange, 429, "2"));
    server.createContext("/v1/embeddings", exchange -> overloaded(exchange, 503, "0.5"));
    server.createContext("/v1/slow", this::slow);
    server.createContext("/v1/large", exchange -> large(exchange, LIMIT + 1));
    server.createContext("/v1/large-chunked", exchange -> large(exchange, 0));
    server.createContext("/metrics", this::metrics);
    server.createContext("/missing", exchange -> overloaded(exchange, 404, "0"));
    server.start();
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    server.stop(0);
    executor.shutdownNow();
  }

  /** Answers with the request's body inside its own, remembering the connection it came on. */
  private void echo(HttpExchange exchange) throws IOException {
    clientPorts.add(exchange.getRemoteAddress().getPort());
    byte[] request = exchange.getRequestBody().readAllBytes();
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    byte[] body =
        ("{\"echo\":" + new String(request, StandardCharsets.UTF_8) + ",\"type\":\"" + type + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("x-request-id", "req-" + exchange.getRemoteAddress());
    exchange.sendResponseHeaders(200, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  /** A vLLM-like metrics page; the query asks for a slow answer. */
  private void metrics(HttpExchange exchange) throws IOException {
    clientPorts.add(exchange.getRemoteAddress().getPort());
    if ("slow".equals(exchange.getRequestURI().getRawQuery())) {
      slow(exchange);
      return;
    }
    byte[] body =
        ("# TYPE vllm:num_requests_running gauge\n"
                + "vllm:num_requests_running{model_name=\"m\"} 7\n"
                + "vllm:num_requests_waiting{model_name=\"m\"} 2\n")
            .getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(200, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  private static void overloaded(HttpExchange exchange, int status, String retryAfter)
      throws IOException {
    exchange.getRequestBody().readAllBytes();
    byte[] body = "{\"error\":{\"message\":\"busy\"}}".getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Retry-After", retryAfter);
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  private void slow(HttpExchange exchange) throws IOException {
    exchange.getRequestBody().readAllBytes();
    try {
      Thread.sleep(3_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      exchange.sendResponseHeaders(200, 2);
      exchange.getResponseBody().write("{}".getBytes(StandardCharsets.UTF_8));
      exchange.close();
    } catch (IOException closedByClient) {
      // the client gave up, as the test expects
    }
  }

  /** A body one byte past the limit, with its length declared unless {@code declared} is 0. */
  private static void large(HttpExchange exchange, long declared) throws IOException {
    exchange.getRequestBody().readAllBytes();
    exchange.sendResponseHeaders(200, declared);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(new byte[LIMIT + 1]);
    } catch (IOException closedByClient) {
      // the client stopped reading, as the test expects
    }
  }

  private HttpInferenceClient client(InferenceSettings.Client kind, String url) throws Exception {
    String yaml =
        """
        client: %s
        requestTimeout: 500ms
        connectTimeout: 2s
        pools:
          - name: p
            models: [m]
            endpoints: [{url: "%s"}]
        """
            .formatted(kind.name().toLowerCase(), url);
    client =
        new HttpInferenceClient(
            PoolsYaml.read(yaml),
            new PoolRetry(1, Duration.ofMillis(1), Duration.ofMillis(1)),
            LIMIT,
            new ObjectMapper(),
            Clock.systemUTC(),
            name -> null);
    return client;
  }

  private HttpInferenceClient client(InferenceSettings.Client kind) throws Exception {
    return client(kind, "http://127.0.0.1:" + server.getAddress().getPort());
  }

  private static CompletableFuture<InferenceResponse> send(
      HttpInferenceClient client, String path, String body) {
    return client.send(
        new InferenceRequest("m", path, body.getBytes(StandardCharsets.UTF_8), Map.of()));
  }

  @org.junit.jupiter.api.Test
  void theNettyClientReadsMetricsPagesOnOneKeptAliveConnection() throws Exception {
    HttpInferenceClient client = client(InferenceSettings.Client.NETTY);
    var fetcher = client.metricsFetcher(Duration.ofMillis(300)).orElseThrow();
    String base = "http://127.0.0.1:" + server.getAddress().getPort();

    for (int i = 0; i < 5; i++) {
      assertThat(fetcher.fetch(base + "/metrics").get(10, TimeUnit.SECONDS))
          .contains("vllm:num_requests_waiting{model_name=\"m\"} 2");
    }
    assertThat(clientPorts).hasSize(1);
    // Any other status is no page; a page later than the timeout fails the read.
    assertThat(fetcher.fetch(base + "/missing").get(10, TimeUnit.SECONDS)).isNull();
    long start = System.nanoTime();
    assertThatThrownBy(() -> fetcher.fetch(base + "/metrics?slow").get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));

    // Through the reader the controller uses: the page's sums.
    var sample =
        new dev.batchgateway.activities.capacity.HttpEngineMetrics(fetcher, Duration.ofMillis(300))
            .read(List.of(base + "/metrics"));
    assertThat(sample.reachable()).isTrue();
    assertThat(sample.running()).isEqualTo(7);
    assertThat(sample.waiting()).isEqualTo(2);
  }

  @org.junit.jupiter.api.Test
  void theJdkClientLeavesMetricsToTheJdkReader() throws Exception {
    assertThat(client(InferenceSettings.Client.JDK).metricsFetcher(Duration.ofMillis(300)))
        .isEmpty();
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void requestsOneAfterAnotherShareOneConnection(InferenceSettings.Client kind) throws Exception {
    HttpInferenceClient client = client(kind);

    for (int i = 0; i < 20; i++) {
      InferenceResponse response =
          send(client, "/v1/chat/completions", "{\"n\":" + i + "}").get(10, TimeUnit.SECONDS);
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(new String(response.body(), StandardCharsets.UTF_8))
          .isEqualTo("{\"echo\":{\"n\":" + i + "},\"type\":\"application/json\"}");
      assertThat(response.requestId()).startsWith("req-");
    }

    assertThat(clientPorts).hasSize(1);
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void everyCallerGetsItsOwnAnswer(InferenceSettings.Client kind) throws Exception {
    HttpInferenceClient client = client(kind);
    for (int round = 0; round < 3; round++) {
      List<CompletableFuture<InferenceResponse>> answers = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        answers.add(send(client, "/v1/chat/completions", "{\"n\":" + (round * 100 + i) + "}"));
      }
      for (int i = 0; i < answers.size(); i++) {
        assertThat(new String(answers.get(i).get(10, TimeUnit.SECONDS).body()))
            .contains("{\"n\":" + (round * 100 + i) + "}");
      }
    }
    // Connections of one round are reused by the next, not opened anew.
    assertThat(clientPorts).hasSizeLessThanOrEqualTo(64);
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void overloadAnswersComeBackWithTheirRetryAfter(InferenceSettings.Client kind) throws Exception {
    HttpInferenceClient client = client(kind);

    InferenceResponse tooMany = send(client, "/v1/completions", "{}").get(10, TimeUnit.SECONDS);
    InferenceResponse unavailable = send(client, "/v1/embeddings", "{}").get(10, TimeUnit.SECONDS);

    assertThat(tooMany.statusCode()).isEqualTo(429);
    assertThat(tooMany.retryAfterMillis()).isEqualTo(2_000);
    assertThat(new String(tooMany.body(), StandardCharsets.UTF_8)).contains("busy");
    assertThat(unavailable.statusCode()).isEqualTo(503);
    assertThat(unavailable.retryAfterMillis()).isEqualTo(500);
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void noAnswerWithinTheRequestTimeoutIsATimeout(InferenceSettings.Client kind) throws Exception {
    HttpInferenceClient client = client(kind);
    long started = System.nanoTime();

    assertThatThrownBy(() -> send(client, "/v1/slow", "{}").get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasRootCauseInstanceOf(HttpTimeoutException.class);

    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(2_500));
    assertThat(send(client, "/v1/chat/completions", "{}").get(10, TimeUnit.SECONDS).statusCode())
        .isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void aRefusedConnectionIsAConnectException(InferenceSettings.Client kind) throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    HttpInferenceClient client = client(kind, "http://127.0.0.1:" + closed);

    assertThatThrownBy(() -> send(client, "/v1/chat/completions", "{}").get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .satisfies(e -> assertThat(causes(e)).anyMatch(ConnectException.class::isInstance));
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void answersPastTheLimitFailAndTheClientGoesOn(InferenceSettings.Client kind) throws Exception {
    HttpInferenceClient client = client(kind);

    for (String path : List.of("/v1/large", "/v1/large-chunked")) {
      assertThatThrownBy(() -> send(client, path, "{}").get(10, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .satisfies(
              e -> assertThat(ResponseTooLargeException.in(e).limitBytes()).isEqualTo(LIMIT));
    }
    assertThat(send(client, "/v1/chat/completions", "{}").get(10, TimeUnit.SECONDS).statusCode())
        .isEqualTo(200);
  }

  private static List<Throwable> causes(Throwable error) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      chain.add(cause);
    }
    return chain;
  }
}
