package dev.batchgateway.temporal.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityOptions;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.common.interceptors.WorkerInterceptor;
import io.temporal.common.interceptors.WorkflowClientInterceptor;
import io.temporal.testing.TestEnvironmentOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactoryOptions;
import io.temporal.workflow.Workflow;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The interceptors on Temporal's test server: one trace runs from the caller's span through the
 * workflow start, both runs of a workflow that continues as new, the activities they schedule and
 * the spans the activities' code makes; replaying the runs records nothing twice.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TemporalTracingTest {
  private static final String QUEUE = "tracing-test";

  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private final OpenTelemetrySdk otel =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(spans))
                  .build())
          .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
          .build();
  private TestWorkflowEnvironment env;

  @AfterEach
  void close() {
    if (env != null) {
      env.close();
    }
    otel.close();
  }

  @WorkflowInterface
  public interface TracedWorkflow {
    @WorkflowMethod
    String run(int run);
  }

  @ActivityInterface
  public interface Greetings {
    String greet(String name);
  }

  public static class TracedWorkflowImpl implements TracedWorkflow {
    private final Greetings greetings =
        Workflow.newActivityStub(
            Greetings.class,
            ActivityOptions.newBuilder().setStartToCloseTimeout(Duration.ofSeconds(10)).build());

    @Override
    public String run(int run) {
      String first = greetings.greet("a" + run);
      Workflow.sleep(Duration.ofSeconds(1));
      String second = greetings.greet("b" + run);
      if (run == 0) {
        Workflow.continueAsNew(1);
      }
      return first + second;
    }
  }

  /** Makes a span of its own, as the chunk activity does for each inference call. */
  static final class TracedGreetings implements Greetings {
    private final Tracer tracer;

    TracedGreetings(Tracer tracer) {
      this.tracer = tracer;
    }

    @Override
    public String greet(String name) {
      tracer.spanBuilder("work " + name).startSpan().end();
      return name;
    }
  }

  @Test
  void oneTraceRunsFromTheCallerThroughWorkflowRunsActivitiesAndTheirSpans() throws Exception {
    TemporalTracing tracing = TemporalTracing.with(otel);
    env =
        TestWorkflowEnvironment.newInstance(
            TestEnvironmentOptions.newBuilder()
                .setWorkflowClientOptions(
                    WorkflowClientOptions.newBuilder()
                        .setInterceptors(
                            tracing.clientInterceptors().toArray(WorkflowClientInterceptor[]::new))
                        .build())
                .setWorkerFactoryOptions(
                    WorkerFactoryOptions.newBuilder()
                        .setWorkerInterceptors(
                            tracing.workerInterceptors().toArray(WorkerInterceptor[]::new))
                        .build())
                .build());
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(TracedWorkflowImpl.class);
    worker.registerActivitiesImplementations(new TracedGreetings(otel.getTracer("test")));
    env.start();
    WorkflowClient client = env.getWorkflowClient();

    Span api = otel.getTracer("test").spanBuilder("POST /v1/batches").startSpan();
    try (Scope ignored = api.makeCurrent()) {
      TracedWorkflow workflow =
          client.newWorkflowStub(
              TracedWorkflow.class,
              WorkflowOptions.newBuilder().setWorkflowId("batch_1").setTaskQueue(QUEUE).build());
      WorkflowClient.start(workflow::run, 0);
    } finally {
      api.end();
    }
    String result = client.newUntypedWorkflowStub("batch_1").getResult(String.class);
    assertThat(result).isEqualTo("a1b1");

    List<SpanData> all = spans.getFinishedSpanItems();
    assertThat(all)
        .extracting(SpanData::getTraceId)
        .containsOnly(api.getSpanContext().getTraceId());
    Map<String, SpanData> byId =
        all.stream().collect(Collectors.toMap(SpanData::getSpanId, Function.identity()));

    SpanData start = only(all, "StartWorkflow:TracedWorkflow");
    assertThat(start.getParentSpanId()).isEqualTo(api.getSpanContext().getSpanId());
    assertThat(start.getAttributes().get(TracingAttributes.WORKFLOW_ID)).isEqualTo("batch_1");

    // Two runs (the second continued as new), each recorded once despite the replays.
    List<SpanData> runs = named(all, "RunWorkflow:TracedWorkflow");
    assertThat(runs).hasSize(2);
    assertThat(runs).extracting(SpanData::getParentSpanId).containsOnly(start.getSpanId());
    assertThat(runs)
        .extracting(span -> span.getAttributes().get(TracingAttributes.RUN_ID))
        .doesNotHaveDuplicates();

    List<SpanData> scheduled = named(all, "StartActivity:Greet");
    assertThat(scheduled).hasSize(4);
    assertThat(scheduled).extracting(SpanData::getParentSpanId).containsOnly(start.getSpanId());

    List<SpanData> executed = named(all, "RunActivity:Greet");
    assertThat(executed).hasSize(4);
    Set<String> scheduledIds =
        scheduled.stream().map(SpanData::getSpanId).collect(Collectors.toSet());
    assertThat(executed)
        .allSatisfy(
            span -> {
              assertThat(scheduledIds).contains(span.getParentSpanId());
              assertThat(span.getAttributes().get(TracingAttributes.WORKFLOW_ID))
                  .isEqualTo("batch_1");
              assertThat(span.getAttributes().get(TracingAttributes.ACTIVITY_TYPE))
                  .isEqualTo("Greet");
              assertThat(span.getAttributes().get(AttributeKey.longKey("temporal.attempt")))
                  .isEqualTo(1L);
            });
    // Each activity's own span hangs from its RunActivity span.
    for (String name : List.of("a0", "b0", "a1", "b1")) {
      SpanData work = only(all, "work " + name);
      assertThat(byId.get(work.getParentSpanId()).getName()).isEqualTo("RunActivity:Greet");
    }

    // A worker that replays both runs' histories (as after a cache eviction) records nothing.
    for (SpanData run : runs) {
      WorkflowExecutionHistory history =
          client.fetchHistory("batch_1", run.getAttributes().get(TracingAttributes.RUN_ID));
      worker.replayWorkflowExecution(history);
    }
    assertThat(spans.getFinishedSpanItems()).hasSameSizeAs(all);
  }

  @Test
  void offInstallsNoInterceptor() {
    assertThat(TemporalTracing.OFF.enabled()).isFalse();
    assertThat(TemporalTracing.OFF.clientInterceptors()).isEmpty();
    assertThat(TemporalTracing.OFF.workerInterceptors()).isEmpty();
  }

  private static List<SpanData> named(List<SpanData> spans, String name) {
    return spans.stream().filter(span -> span.getName().equals(name)).toList();
  }

  private static SpanData only(List<SpanData> spans, String name) {
    List<SpanData> found = named(spans, name);
    assertThat(found).as(name).hasSize(1);
    return found.get(0);
  }
}
