package dev.batchgateway.service.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.activities.port.PoolRetry;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.Min;

/** A pool's own retry settings; each one left out keeps the value under {@code batches:}. */
public class RetrySettings {
  @Min(1)
  @JsonProperty
  private Integer maxAttempts;

  @JsonProperty private Duration initialBackoff;
  @JsonProperty private Duration maxBackoff;

  boolean isEmpty() {
    return maxAttempts == null && initialBackoff == null && maxBackoff == null;
  }

  /** These settings over the global ones. */
  PoolRetry over(PoolRetry global) {
    return new PoolRetry(
        maxAttempts == null ? global.maxAttempts() : maxAttempts,
        initialBackoff == null
            ? global.initialBackoff()
            : java.time.Duration.ofMillis(initialBackoff.toMilliseconds()),
        maxBackoff == null
            ? global.maxBackoff()
            : java.time.Duration.ofMillis(maxBackoff.toMilliseconds()));
  }
}
