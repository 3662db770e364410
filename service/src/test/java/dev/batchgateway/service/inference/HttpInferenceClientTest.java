package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.batchgateway.activities.port.InferenceCallSpan;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.activities.port.RequestContext;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Against two tiny in-JVM OpenAI servers that record the headers of what they receive. */
class HttpInferenceClientTest {
  private static final String MODEL = "Qwen/Qwen3-0.6B";
  private static final long DEADLINE = 1_900_000_000L;
  private static final PoolRetry GLOBAL_RETRY =
      new PoolRetry(5, Duration.ofMillis(500), Duration.ofSeconds(30));
  private static final Map<String, String> ENV = Map.of("KEY_A", "sk-a", "KEY_B", "sk-b");

  private final ObjectMapper json = new ObjectMapper();
  private final SettableClock clock = new SettableClock(DEADLINE * 1000 - 600_000);
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private FakeEngine a;
  private FakeEngine b;

  @BeforeEach
  void start() throws IOException {
    a = new FakeEngine("a");
    b = new FakeEngine("b");
  }

  @AfterEach
  void stop() {
    a.stop();
    b.stop();
    executor.shutdownNow();
  }

  @Test
  void everyEndpointGetsTrafficWithItsKeyAndTheBatchHeaders() throws Exception {
    HttpInferenceClient client =
        client(
            """
            pools:
              - name: qwen
                models: [%s]
                endpoints:
                  - {url: %s/v1, apiKeyEnv: KEY_A}
                  - {url: %s, apiKeyEnv: KEY_B}
                headers:
                  objective: {value: batch-low}
            """
                .formatted(MODEL, a.url(), b.url()));

    for (int i = 0; i < 10; i++) {
      assertThat(send(client, MODEL).statusCode()).isEqualTo(200);
    }

    assertThat(a.received).hasSize(5);
    assertThat(b.received).hasSize(5);
    assertThat(a.received).allSatisfy(r -> assertThat(r.authorization).isEqualTo("Bearer sk-a"));
    assertThat(b.received).allSatisfy(r -> assertThat(r.authorization).isEqualTo("Bearer sk-b"));
    Received first = a.received.peek();
    assertThat(first.path).isEqualTo("/v1/chat/completions");
    assertThat(first.objective).isEqualTo("batch-low");
    assertThat(first.fairnessId).isEqualTo("acme");
    assertThat(first.sloTtftMs).isEqualTo("600000");
  }

  @Test
  void anInferenceCallsSpanLearnsTheEndpointAndTheEngineGetsItsTraceparent() throws Exception {
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    SdkTracerProvider provider =
        SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
    Tracer tracer = provider.get("test");
    HttpInferenceClient client = client("url: %s\n".formatted(a.url()));
    Span activity = tracer.spanBuilder("RunActivity:RunChunk").startSpan();
    Span call;
    try (Scope ignored = activity.makeCurrent()) {
      // The activity's span alone is not an inference call's: nothing is recorded or sent.
      send(client, MODEL);
      call = tracer.spanBuilder("POST /v1/chat/completions").startSpan();
      try (Scope calling = InferenceCallSpan.with(Context.current(), call).makeCurrent()) {
        send(client, MODEL);
      }
    }
    call.end();
    activity.end();

    assertThat(a.received).extracting(Received::traceparent).hasSize(2).first().isNull();
    String traceparent = a.received.stream().toList().get(1).traceparent();
    assertThat(traceparent)
        .startsWith(
            "00-"
                + call.getSpanContext().getTraceId()
                + "-"
                + call.getSpanContext().getSpanId()
                + "-");
    int flags = Integer.parseInt(traceparent.substring(traceparent.lastIndexOf('-') + 1), 16);
    assertThat(flags & 1).as("sampled").isEqualTo(1);
    AttributeKey<String> endpoint = AttributeKey.stringKey("batch_gateway.endpoint");
    assertThat(spans.getFinishedSpanItems())
        .filteredOn(span -> span.getName().startsWith("POST"))
        .singleElement()
        .satisfies(span -> assertThat(span.getAttributes().get(endpoint)).startsWith(a.url()));
    assertThat(spans.getFinishedSpanItems())
        .filteredOn(span -> span.getName().startsWith("RunActivity"))
        .singleElement()
        .satisfies(span -> assertThat(span.getAttributes().get(endpoint)).isNull());
    provider.close();
  }

  @Test
  void theTimeLeftIsWorkedOutAtEverySend() throws Exception {
    HttpInferenceClient client = client("url: %s\n".formatted(a.url()));

    send(client, MODEL);
    clock.advance(Duration.ofMillis(2_500));
    send(client, MODEL);

    assertThat(a.received).extracting(r -> r.sloTtftMs).containsExactly("600000", "597500");
    assertThat(a.received).allSatisfy(r -> assertThat(r.authorization).isNull());
    assertThat(a.received).allSatisfy(r -> assertThat(r.objective).isNull());
  }

  @Test
  void disabledHeadersAreNotSent() throws Exception {
    HttpInferenceClient client =
        client(
            """
            url: %s
            headers:
              objective: {value: batch, enabled: false}
              fairnessId: {enabled: false}
              sloTtft: {enabled: false}
            """
                .formatted(a.url()));

    send(client, MODEL);

    Received request = a.received.peek();
    assertThat(request.objective).isNull();
    assertThat(request.fairnessId).isNull();
    assertThat(request.sloTtftMs).isNull();
  }

  @Test
  void anEndpointThatRefusesConnectionsIsSkipped() throws Exception {
    HttpInferenceClient client =
        client(
            """
            pools:
              - name: qwen
                models: [%s]
                endpointCooldown: 1m
                endpoints: [{url: "http://127.0.0.1:%d"}, {url: "%s"}]
            """
                .formatted(MODEL, closedPort(), a.url()));

    for (int i = 0; i < 6; i++) {
      assertThat(send(client, MODEL).statusCode()).isEqualTo(200);
    }

    assertThat(a.received).hasSize(6);
  }

  @Test
  void modelsComeFromTheListOrFromTheEndpoints() throws Exception {
    HttpInferenceClient client =
        client(
            """
            pools:
              - name: listed
                models: [other]
                endpoints: [{url: "%s"}]
              - name: asked
                endpoints: [{url: "%s"}]
                retry: {maxAttempts: 2}
            """
                .formatted(a.url(), b.url()));

    assertThat(client.poolFor("other")).contains("listed");
    assertThat(client.poolFor(MODEL)).contains("asked");
    assertThat(client.poolFor("unknown")).isEmpty();
    assertThat(client.retryFor("asked"))
        .contains(new PoolRetry(2, Duration.ofMillis(500), Duration.ofSeconds(30)));
    assertThat(client.retryFor("listed")).isEmpty();
    InferenceResponse unknown = send(client, "unknown");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(json.readTree(unknown.body()).at("/error/code").asText())
        .isEqualTo("model_not_found");
  }

  private HttpInferenceClient client(String yaml) throws Exception {
    return new HttpInferenceClient(PoolsYaml.read(yaml), GLOBAL_RETRY, json, clock, ENV::get);
  }

  private static InferenceResponse send(HttpInferenceClient client, String model) throws Exception {
    byte[] body = ("{\"model\":\"" + model + "\"}").getBytes(StandardCharsets.UTF_8);
    return client
        .send(
            new InferenceRequest(
                model,
                "/v1/chat/completions",
                body,
                Map.of(),
                new RequestContext("acme", "batch_1", DEADLINE, Map.of())))
        .get();
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private record Received(
      String path,
      String authorization,
      String objective,
      String fairnessId,
      String sloTtftMs,
      String traceparent) {}

  private final class FakeEngine {
    final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    private final HttpServer server;

    FakeEngine(String name) throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.setExecutor(executor);
      server.createContext(
          "/v1/models",
          exchange -> {
            byte[] body =
                ("{\"object\":\"list\",\"data\":[{\"id\":\"" + MODEL + "\"}]}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
          });
      server.createContext(
          "/v1/chat/completions",
          exchange -> {
            var headers = exchange.getRequestHeaders();
            received.add(
                new Received(
                    exchange.getRequestURI().getPath(),
                    headers.getFirst("Authorization"),
                    headers.getFirst("x-gateway-inference-objective"),
                    headers.getFirst("x-gateway-inference-fairness-id"),
                    headers.getFirst("x-slo-ttft-ms"),
                    headers.getFirst("traceparent")));
            exchange.getRequestBody().readAllBytes();
            byte[] body =
                ("{\"id\":\"chatcmpl-" + name + "\",\"object\":\"chat.completion\",\"choices\":[]}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
          });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void stop() {
      server.stop(0);
    }
  }

  /** A clock the test moves by hand. */
  private static final class SettableClock extends Clock {
    private final AtomicLong millis;

    SettableClock(long millis) {
      this.millis = new AtomicLong(millis);
    }

    void advance(Duration duration) {
      millis.addAndGet(duration.toMillis());
    }

    @Override
    public long millis() {
      return millis.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
