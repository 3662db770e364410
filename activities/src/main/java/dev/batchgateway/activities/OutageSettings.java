package dev.batchgateway.activities;

import java.time.Duration;

/**
 * How chunks ride out an inference pool they cannot reach.
 *
 * @param deadlineReserve requests of an unreachable pool are retried until the batch's deadline
 *     minus this, which is left for finalizing; then they fail as {@code backend_unreachable}
 * @param circuitFailures connection failures in a row that open a pool's circuit (dispatch to the
 *     pool pauses)
 * @param circuitProbeInterval how often an open circuit lets one request through to probe the pool
 */
public record OutageSettings(
    Duration deadlineReserve, int circuitFailures, Duration circuitProbeInterval) {

  public static OutageSettings defaults() {
    return new OutageSettings(Duration.ofMinutes(5), 5, Duration.ofSeconds(1));
  }
}
