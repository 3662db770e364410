package dev.batchgateway.service.cleanup;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.workflows.cleanup.CleanupRequest;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/**
 * The {@code cleanup:} section: how often the cleanup schedule runs and what a pass removes.
 * README.md ("Expiry and cleanup") describes each key.
 */
public class CleanupSettings {

  /** Whether this process ensures the schedule and polls the cleanup task queue. */
  @JsonProperty private boolean enabled = true;

  /** Temporal schedules run at most once a second. */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  private Duration interval = Duration.hours(1);

  @Min(1)
  @Max(10_000)
  @JsonProperty
  private int pageSize = 500;

  /** Pages per step in one pass; what is left waits for the next pass. */
  @Min(1)
  @Max(200)
  @JsonProperty
  private int maxPagesPerStep = 50;

  /** How long a finished batch's record stays (GET /v1/batches/{id}) after it ended. */
  @NotNull @JsonProperty private Duration batchRetention = Duration.days(30);

  /** How long a finished batch's work folder (chunk inputs and checkpoints) stays. */
  @NotNull @JsonProperty private Duration workGrace = Duration.hours(1);

  public boolean isEnabled() {
    return enabled;
  }

  public java.time.Duration interval() {
    return interval.toJavaDuration();
  }

  public CleanupRequest toRequest() {
    return new CleanupRequest(
        pageSize, maxPagesPerStep, batchRetention.toSeconds(), workGrace.toSeconds());
  }
}
