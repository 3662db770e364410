package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayApplication;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.tracing.TracingSettings;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A whole gateway with tracing on, its spans kept in memory, against the simulator that answers
 * half its requests with 429 or 500: one trace holds the API request that created the batch, the
 * workflow start and runs, the activities and every inference call with its attempt and status.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class TracingIT {
  private static final String TENANT = TestStack.uniqueTenant("tracing");
  private static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();

  /** The gateway, with its spans in {@link #SPANS} instead of an OTLP collector. */
  public static final class TracedGateway extends BatchGatewayApplication {
    @Override
    protected SpanProcessor spanProcessor(TracingSettings settings) {
      return SimpleSpanProcessor.create(SPANS);
    }
  }

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          TracedGateway.class,
          "sk-tracing:" + TENANT,
          "BGW_TEST_FAULTY_INFERENCE_URL",
          ConfigOverride.config("batches.maxAttempts", "20"),
          ConfigOverride.config("batches.initialBackoff", "5ms"),
          ConfigOverride.config("batches.maxBackoff", "50ms"));

  private static final AttributeKey<String> BATCH_ID =
      AttributeKey.stringKey("batch_gateway.batch_id");

  @Test
  void oneTraceRunsFromTheApiRequestThroughTheWorkflowToEachInferenceCall() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-tracing");
    int lines = 20;
    String fileId = api.uploadBatchFile(Lines.chatFile(lines, 2, TestStack.model()));

    // The caller's own trace is continued.
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    String callerSpan = "00f067aa0ba902b7";
    HttpResponse<String> created =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://localhost:" + APP.getLocalPort() + "/v1/batches"))
                    .header("Authorization", "Bearer sk-tracing")
                    .header("Content-Type", "application/json")
                    .header("traceparent", "00-" + traceId + "-" + callerSpan + "-01")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            "{\"input_file_id\":\""
                                + fileId
                                + "\",\"endpoint\":\"/v1/chat/completions\","
                                + "\"completion_window\":\"24h\"}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
    String batchId = Api.json(created).get("id").asText();
    JsonNode batch = api.awaitTerminal(batchId, Duration.ofMinutes(2));
    assertThat(batch.get("status").asText()).isEqualTo("completed");

    List<SpanData> trace = awaitTrace(traceId, batchId);
    Map<String, SpanData> byId =
        trace.stream().collect(Collectors.toMap(SpanData::getSpanId, Function.identity()));

    SpanData request = only(trace, "POST /v1/batches");
    assertThat(request.getParentSpanId()).isEqualTo(callerSpan);
    assertThat(request.getAttributes().get(AttributeKey.stringKey("batch_gateway.tenant")))
        .isEqualTo(TENANT);
    assertThat(request.getAttributes().get(BATCH_ID)).isEqualTo(batchId);
    assertThat(request.getAttributes().get(AttributeKey.stringKey("batch_gateway.request_id")))
        .isEqualTo(created.headers().firstValue("x-request-id").orElseThrow());
    assertThat(request.getAttributes().get(AttributeKey.longKey("http.response.status_code")))
        .isEqualTo(200L);

    // The polls that followed are traces of their own, named after their route.
    assertThat(SPANS.getFinishedSpanItems())
        .filteredOn(span -> span.getName().equals("GET /v1/batches/{id}"))
        .isNotEmpty()
        .allSatisfy(
            poll -> {
              assertThat(poll.getTraceId()).isNotEqualTo(traceId);
              assertThat(poll.getAttributes().get(BATCH_ID)).isEqualTo(batchId);
            });

    SpanData start = only(trace, "StartWorkflow:BatchWorkflow");
    assertThat(start.getParentSpanId()).isEqualTo(request.getSpanId());
    assertThat(start.getAttributes().get(AttributeKey.stringKey("temporal.workflow.id")))
        .isEqualTo(batchId);
    assertThat(named(trace, "RunWorkflow:BatchWorkflow"))
        .isNotEmpty()
        .extracting(SpanData::getParentSpanId)
        .containsOnly(start.getSpanId());

    List<SpanData> chunkRuns = named(trace, "RunActivity:RunChunk");
    assertThat(chunkRuns).isNotEmpty();
    assertThat(chunkRuns)
        .allSatisfy(
            run ->
                assertThat(byId.get(run.getParentSpanId()).getName())
                    .isEqualTo("StartActivity:RunChunk"));
    assertThat(trace)
        .extracting(SpanData::getName)
        .contains("RunActivity:Plan", "RunActivity:finalizeBatch");

    // Every line was answered in the end; about half the sends met an error status and were tried
    // again.
    Set<String> chunkRunIds =
        chunkRuns.stream().map(SpanData::getSpanId).collect(Collectors.toSet());
    List<SpanData> calls = named(trace, "POST /v1/chat/completions");
    assertThat(calls)
        .allSatisfy(
            call -> {
              assertThat(chunkRunIds).contains(call.getParentSpanId());
              assertThat(call.getAttributes().get(BATCH_ID)).isEqualTo(batchId);
              assertThat(call.getAttributes().get(AttributeKey.stringKey("batch_gateway.pool")))
                  .isNotBlank();
              assertThat(call.getAttributes().get(AttributeKey.stringKey("batch_gateway.endpoint")))
                  .startsWith("http");
              assertThat(call.getAttributes().get(AttributeKey.longKey("batch_gateway.attempt")))
                  .isPositive();
            });
    Map<Long, List<SpanData>> byLine =
        calls.stream()
            .collect(
                Collectors.groupingBy(
                    call -> call.getAttributes().get(AttributeKey.longKey("batch_gateway.line"))));
    assertThat(byLine).hasSize(lines);
    AttributeKey<Long> status = AttributeKey.longKey("http.response.status_code");
    for (List<SpanData> tries : byLine.values()) {
      assertThat(tries).extracting(call -> call.getAttributes().get(status)).contains(200L);
    }
    List<SpanData> refused =
        calls.stream()
            .filter(call -> call.getStatus().getStatusCode() == StatusCode.ERROR)
            .toList();
    assertThat(refused).isNotEmpty();
    assertThat(refused)
        .allSatisfy(
            call -> {
              Long code = call.getAttributes().get(status);
              if (code != null) {
                assertThat(code).isGreaterThanOrEqualTo(400L);
              } else {
                assertThat(call.getAttributes().get(AttributeKey.stringKey("error.type")))
                    .isNotBlank();
              }
            });
    assertThat(calls)
        .extracting(call -> call.getAttributes().get(AttributeKey.longKey("batch_gateway.attempt")))
        .contains(2L);
  }

  /**
   * The trace's spans, once the batch's last activity span has ended (it may end just after the
   * status the API reports is written).
   */
  private static List<SpanData> awaitTrace(String traceId, String batchId)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      List<SpanData> trace =
          SPANS.getFinishedSpanItems().stream()
              .filter(span -> span.getTraceId().equals(traceId))
              .toList();
      boolean finalized =
          trace.stream().anyMatch(span -> span.getName().equals("RunActivity:finalizeBatch"));
      if (finalized || System.nanoTime() > deadline) {
        return trace;
      }
      Thread.sleep(100);
    }
  }

  private static List<SpanData> named(List<SpanData> spans, String name) {
    return spans.stream().filter(span -> span.getName().equals(name)).toList();
  }

  private static SpanData only(List<SpanData> spans, String name) {
    List<SpanData> found = named(spans, name);
    assertThat(found).as(name + " in " + spans.stream().map(SpanData::getName).toList()).hasSize(1);
    return found.get(0);
  }
}
