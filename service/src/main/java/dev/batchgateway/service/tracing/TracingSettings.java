package dev.batchgateway.service.tracing;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/**
 * The {@code tracing:} section. Tracing is off unless {@code otlpEndpoint} is set; README.md
 * ("Tracing") describes each key.
 */
public class TracingSettings {

  /**
   * Where spans go, over OTLP/HTTP (protobuf): a collector's base URL such as {@code
   * http://otel-collector:4318}, to which {@code /v1/traces} is added, or a URL already ending in
   * {@code /v1/traces}. Empty: tracing off.
   */
  @NotNull @JsonProperty private String otlpEndpoint = "";

  /**
   * The share of new traces recorded (a trace starts at an API request, or at a workflow or
   * activity no traced request started). Spans under a recorded trace, or one the caller's {@code
   * traceparent} marks as sampled, are recorded with it.
   */
  @DecimalMin("0.0")
  @DecimalMax("1.0")
  @JsonProperty
  private double sampleRatio = 1.0;

  /** Whether each inference call of a recorded batch gets a span of its own. */
  @JsonProperty private boolean inferenceSpans = true;

  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  private Duration exportTimeout = Duration.seconds(10);

  public boolean enabled() {
    return !otlpEndpoint.isBlank();
  }

  /** The URL spans are posted to. */
  public String tracesUrl() {
    String url = otlpEndpoint.strip();
    if (url.endsWith("/v1/traces")) {
      return url;
    }
    return (url.endsWith("/") ? url.substring(0, url.length() - 1) : url) + "/v1/traces";
  }

  public double sampleRatio() {
    return sampleRatio;
  }

  public boolean inferenceSpans() {
    return inferenceSpans;
  }

  public java.time.Duration exportTimeout() {
    return exportTimeout.toJavaDuration();
  }
}
