package dev.batchgateway.service.capacity;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.service.inference.PoolDefinition;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.List;

/**
 * The {@code capacity:} section: whether the batch limit follows the engines ({@code adaptive}) or
 * stays at {@code limiter.initialPermits} ({@code fixed}), and the controller's settings.
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
  @NotNull @JsonProperty private Duration interval = Duration.milliseconds(50);

  /** How long one probe activity loops before it reports back to its workflow. */
  @NotNull @JsonProperty private Duration probeRun = Duration.seconds(60);

  /** A metrics read slower than this counts as no reading. */
  @NotNull @JsonProperty private Duration metricsTimeout = Duration.milliseconds(500);

  /**
   * The lowest limit the controller sets. 0: a batch stops while interactive traffic leaves no
   * headroom; 1 or more keeps that many batch requests running however busy the engines are (not
   * while interactive requests alone fill them).
   */
  @Min(0)
  @JsonProperty
  private int minPermits = 0;

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
   * One probe per inference pool, watching its endpoints' metrics. A pool's own {@code
   * maxConcurrency} (summed over its endpoints) wins over the global one.
   */
  public List<PoolProbeSpec> pools(List<PoolDefinition> definitions) {
    return definitions.stream()
        .map(
            pool ->
                new PoolProbeSpec(
                    pool.name(),
                    pool.metricsUrls(),
                    pool.maxConcurrency() > 0 ? pool.maxConcurrency() : maxConcurrency,
                    minPermits,
                    Math.max(minPermits, maxPermits),
                    minHeadroom,
                    headroomFraction,
                    interval.toMilliseconds(),
                    probeRun.toMilliseconds()))
        .toList();
  }

  public java.time.Duration metricsTimeout() {
    return java.time.Duration.ofMillis(metricsTimeout.toMilliseconds());
  }
}
