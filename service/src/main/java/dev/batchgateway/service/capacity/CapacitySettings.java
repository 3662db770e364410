package dev.batchgateway.service.capacity;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.List;

/**
 * The {@code capacity:} section: whether the batch limit follows the engines ({@code adaptive}) or
 * stays at {@code batches.poolPermits} ({@code fixed}), and the controller's settings.
 */
public class CapacitySettings {

  public enum Mode {
    ADAPTIVE,
    FIXED
  }

  /** The pool of the single inference URL, as HttpInferenceClient names it. */
  public static final String DEFAULT_POOL = "default";

  @NotNull @JsonProperty private Mode mode = Mode.ADAPTIVE;

  /** How often the probe reads the engines and decides. */
  @NotNull @JsonProperty private Duration interval = Duration.milliseconds(200);

  /** How long one probe activity loops before it reports back to its workflow. */
  @NotNull @JsonProperty private Duration probeRun = Duration.seconds(60);

  /** A metrics read slower than this counts as no reading. */
  @NotNull @JsonProperty private Duration metricsTimeout = Duration.milliseconds(500);

  /** Appended to the inference URL's base to find the engine's Prometheus metrics. */
  @NotNull @JsonProperty private String metricsPath = "/metrics";

  @Min(0)
  @JsonProperty
  private int minPermits = 1;

  @Min(1)
  @JsonProperty
  private int maxPermits = 256;

  @Min(0)
  @JsonProperty
  private int minHeadroom = 2;

  @DecimalMin("0")
  @DecimalMax("0.9")
  @JsonProperty
  private double headroomFraction = 0.1;

  /** The engines' concurrent capacity (vLLM --max-num-seqs, summed over the pool); 0 = learn it. */
  @Min(0)
  @JsonProperty
  private int maxConcurrency = 0;

  public Mode getMode() {
    return mode;
  }

  public boolean isAdaptive() {
    return mode == Mode.ADAPTIVE;
  }

  /**
   * The pools the probes watch. Today one: {@link #DEFAULT_POOL}, the single inference URL, whose
   * metrics are at its base URL plus {@link #metricsPath}.
   */
  public List<PoolProbeSpec> pools(String inferenceUrl) {
    return List.of(
        new PoolProbeSpec(
            DEFAULT_POOL,
            List.of(base(inferenceUrl) + metricsPath),
            maxConcurrency,
            minPermits,
            Math.max(minPermits, maxPermits),
            minHeadroom,
            headroomFraction,
            interval.toMilliseconds(),
            probeRun.toMilliseconds()));
  }

  public java.time.Duration metricsTimeout() {
    return java.time.Duration.ofMillis(metricsTimeout.toMilliseconds());
  }

  /** The server's base URL, without a trailing slash or {@code /v1}. */
  static String base(String url) {
    String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    return base.endsWith("/v1") ? base.substring(0, base.length() - 3) : base;
  }
}
