package dev.batchgateway.service.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.batchgateway.service.Role;
import dev.batchgateway.temporal.tracing.TemporalTracing;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import jakarta.validation.Validation;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TracingTest {

  private static TracingSettings settings(String yaml) throws Exception {
    ObjectMapper json = Jackson.newObjectMapper();
    return new YamlConfigurationFactory<>(
            TracingSettings.class,
            Validation.buildDefaultValidatorFactory().getValidator(),
            json,
            "dw")
        .build(path -> new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "tracing");
  }

  @Test
  void isOffByDefaultAndThenInstallsNothing() throws Exception {
    TracingSettings defaults = settings("{}");
    assertThat(defaults.enabled()).isFalse();
    assertThat(Tracing.otlpProcessor(defaults)).isNull();

    Tracing tracing = Tracing.start(defaults, Role.ALL, Tracing.otlpProcessor(defaults));

    assertThat(tracing.enabled()).isFalse();
    assertThat(tracing.openTelemetry()).isSameAs(OpenTelemetry.noop());
    assertThat(tracing.inferenceTracer()).isNull();
    assertThat(tracing.temporal()).isSameAs(TemporalTracing.OFF);
    Span span = tracing.tracer().spanBuilder("nothing").startSpan();
    assertThat(span.isRecording()).isFalse();
    assertThat(span.getSpanContext().isValid()).isFalse();
    tracing.stop();
  }

  @Test
  void theEndpointIsACollectorBaseOrTheFullTracesUrl() throws Exception {
    assertThat(settings("otlpEndpoint: http://collector:4318").tracesUrl())
        .isEqualTo("http://collector:4318/v1/traces");
    assertThat(settings("otlpEndpoint: http://collector:4318/").tracesUrl())
        .isEqualTo("http://collector:4318/v1/traces");
    assertThat(settings("otlpEndpoint: https://otel.example/v1/traces").tracesUrl())
        .isEqualTo("https://otel.example/v1/traces");
  }

  @Test
  void aSampleRatioOutsideZeroToOneIsRefused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> settings("sampleRatio: 1.5"))
        .hasMessageContaining("sampleRatio");
  }

  @Test
  void postsSpansAsOtlpProtobufToTheConfiguredEndpoint() throws Exception {
    HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    CompletableFuture<byte[]> body = new CompletableFuture<>();
    CompletableFuture<String> contentType = new CompletableFuture<>();
    collector.createContext(
        "/v1/traces",
        exchange -> {
          if (exchange.getRequestMethod().equals("POST")) {
            contentType.complete(exchange.getRequestHeaders().getFirst("Content-Type"));
            body.complete(exchange.getRequestBody().readAllBytes());
          }
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    collector.start();
    try {
      TracingSettings settings =
          settings("otlpEndpoint: http://127.0.0.1:" + collector.getAddress().getPort());
      Tracing tracing = Tracing.start(settings, Role.WORKER, Tracing.otlpProcessor(settings));
      assertThat(tracing.enabled()).isTrue();
      assertThat(tracing.inferenceTracer()).isNotNull();
      tracing.tracer().spanBuilder("POST /v1/batches").startSpan().end();
      tracing.stop(); // flushes the batch

      assertThat(contentType.get(10, TimeUnit.SECONDS)).isEqualTo("application/x-protobuf");
      // Protobuf keeps strings as they are: the span's name and the resource's attributes.
      String sent = new String(body.get(10, TimeUnit.SECONDS), StandardCharsets.ISO_8859_1);
      assertThat(sent)
          .contains("POST /v1/batches", "batch-gateway", "batch_gateway.role", "worker");
    } finally {
      collector.stop(0);
    }
  }
}
