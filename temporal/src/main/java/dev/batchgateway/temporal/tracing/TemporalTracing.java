package dev.batchgateway.temporal.tracing;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.temporal.common.interceptors.WorkerInterceptor;
import io.temporal.common.interceptors.WorkflowClientInterceptor;
import java.util.List;

/**
 * Temporal's client and worker interceptors that trace workflows and activities with OpenTelemetry.
 * With tracing off nothing is installed: {@link #OFF} adds no interceptor.
 */
public final class TemporalTracing {
  /** Tracing off: no interceptor at all, so Temporal calls cost nothing extra. */
  public static final TemporalTracing OFF = new TemporalTracing(null);

  private static final String SCOPE = "dev.batchgateway.temporal";

  private final OpenTelemetry openTelemetry;

  private TemporalTracing(OpenTelemetry openTelemetry) {
    this.openTelemetry = openTelemetry;
  }

  /** Traces through {@code openTelemetry}'s tracer, propagating with its text-map propagator. */
  public static TemporalTracing with(OpenTelemetry openTelemetry) {
    return new TemporalTracing(openTelemetry);
  }

  public boolean enabled() {
    return openTelemetry != null;
  }

  public List<WorkflowClientInterceptor> clientInterceptors() {
    if (openTelemetry == null) {
      return List.of();
    }
    return List.of(new TracingClientInterceptor(tracer(), headers()));
  }

  public List<WorkerInterceptor> workerInterceptors() {
    if (openTelemetry == null) {
      return List.of();
    }
    return List.of(new TracingWorkerInterceptor(tracer(), headers()));
  }

  private Tracer tracer() {
    return openTelemetry.getTracer(SCOPE);
  }

  private TraceHeaders headers() {
    return new TraceHeaders(openTelemetry.getPropagators().getTextMapPropagator());
  }
}
