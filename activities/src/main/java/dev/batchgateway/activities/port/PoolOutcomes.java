package dev.batchgateway.activities.port;

/**
 * Running totals of how permits ended. A controller reads two snapshots and works on the
 * difference.
 */
public record PoolOutcomes(long succeeded, long dropped, long ignored, long latencyNanosTotal) {
  public static final PoolOutcomes ZERO = new PoolOutcomes(0, 0, 0, 0);

  public PoolOutcomes minus(PoolOutcomes earlier) {
    return new PoolOutcomes(
        succeeded - earlier.succeeded,
        dropped - earlier.dropped,
        ignored - earlier.ignored,
        latencyNanosTotal - earlier.latencyNanosTotal);
  }

  /** Mean latency of the successes counted here, in milliseconds; 0 when there were none. */
  public double meanLatencyMillis() {
    return succeeded == 0 ? 0 : latencyNanosTotal / 1e6 / succeeded;
  }
}
