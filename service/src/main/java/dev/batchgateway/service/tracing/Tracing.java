package dev.batchgateway.service.tracing;

import dev.batchgateway.service.Role;
import dev.batchgateway.temporal.tracing.TemporalTracing;
import io.dropwizard.lifecycle.Managed;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The process's OpenTelemetry tracing. Off (the default) it is {@link OpenTelemetry#noop()} and
 * nothing that traces is installed: no servlet filter, no Temporal interceptor, no inference span.
 * On, spans are batched and posted over OTLP/HTTP with the JDK's HTTP client, as service {@code
 * batch-gateway} with the process's role in {@code batch_gateway.role}.
 */
public final class Tracing implements Managed {
  public static final String SERVICE_NAME = "batch-gateway";
  static final String SCOPE = "dev.batchgateway.service";

  private static final AttributeKey<String> SERVICE = AttributeKey.stringKey("service.name");
  private static final AttributeKey<String> ROLE = AttributeKey.stringKey("batch_gateway.role");

  private final OpenTelemetrySdk sdk;
  private final boolean inferenceSpans;

  private Tracing(OpenTelemetrySdk sdk, boolean inferenceSpans) {
    this.sdk = sdk;
    this.inferenceSpans = inferenceSpans;
  }

  /** Tracing off. */
  public static Tracing off() {
    return new Tracing(null, false);
  }

  /** The processor posting to the configured OTLP endpoint; null when tracing is off. */
  public static SpanProcessor otlpProcessor(TracingSettings settings) {
    if (!settings.enabled()) {
      return null;
    }
    return BatchSpanProcessor.builder(
            OtlpHttpSpanExporter.builder()
                .setEndpoint(settings.tracesUrl())
                .setTimeout(settings.exportTimeout())
                .build())
        .build();
  }

  /**
   * Tracing through {@code processor}, sampling new traces at the configured ratio; off when {@code
   * processor} is null.
   */
  public static Tracing start(TracingSettings settings, Role role, SpanProcessor processor) {
    if (processor == null) {
      return off();
    }
    Resource resource =
        Resource.getDefault()
            .merge(
                Resource.create(
                    Attributes.of(
                        SERVICE, SERVICE_NAME, ROLE, role.name().toLowerCase(Locale.ROOT))));
    SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(resource)
            .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(settings.sampleRatio())))
            .addSpanProcessor(processor)
            .build();
    return new Tracing(
        OpenTelemetrySdk.builder()
            .setTracerProvider(provider)
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build(),
        settings.inferenceSpans());
  }

  public boolean enabled() {
    return sdk != null;
  }

  /** The SDK when on, {@link OpenTelemetry#noop()} when off. */
  public OpenTelemetry openTelemetry() {
    return sdk != null ? sdk : OpenTelemetry.noop();
  }

  public Tracer tracer() {
    return openTelemetry().getTracer(SCOPE);
  }

  /** The tracer inference calls are traced with; null when they are not traced. */
  public Tracer inferenceTracer() {
    return sdk != null && inferenceSpans ? sdk.getTracer("dev.batchgateway.inference") : null;
  }

  /** Temporal's tracing interceptors; none when off. */
  public TemporalTracing temporal() {
    return sdk != null ? TemporalTracing.with(sdk) : TemporalTracing.OFF;
  }

  @Override
  public void start() {}

  /** Sends the spans still queued and closes the exporter. */
  @Override
  public void stop() {
    if (sdk != null) {
      sdk.getSdkTracerProvider().shutdown().join(10, TimeUnit.SECONDS);
    }
  }
}
