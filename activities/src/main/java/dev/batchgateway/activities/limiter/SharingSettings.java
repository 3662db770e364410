package dev.batchgateway.activities.limiter;

import java.time.Duration;

/**
 * How {@link SharingConcurrencyLimiter} splits a pool between batches.
 *
 * @param minPriority lowest priority that counts; lower values weigh as this one
 * @param maxPriority highest priority that counts; higher values weigh as this one
 * @param priorityStep priority points that double a batch's share of a pool
 * @param minShareFraction share of a pool's limit every active batch keeps, however low its
 *     priority (at least one permit)
 * @param atRiskSafety a batch is at risk when, at the rate it kept so far, it needs more than this
 *     fraction of the time left before its completion window ends
 * @param atRiskBoost factor on the share of a batch at risk
 * @param minObservation how long a batch must have run before its rate is judged
 * @param idleAfter a batch that asked for no permit this long (and holds none) no longer counts
 */
public record SharingSettings(
    int minPriority,
    int maxPriority,
    int priorityStep,
    double minShareFraction,
    double atRiskSafety,
    double atRiskBoost,
    Duration minObservation,
    Duration idleAfter) {

  public SharingSettings {
    if (minPriority > maxPriority) {
      throw new IllegalArgumentException("minPriority must not exceed maxPriority");
    }
    if (priorityStep < 1) {
      throw new IllegalArgumentException("priorityStep must be at least 1");
    }
    if (minShareFraction < 0 || minShareFraction > 1) {
      throw new IllegalArgumentException("minShareFraction must be between 0 and 1");
    }
    if (atRiskSafety <= 0 || atRiskSafety > 1) {
      throw new IllegalArgumentException("atRiskSafety must be in (0, 1]");
    }
    if (atRiskBoost < 1) {
      throw new IllegalArgumentException("atRiskBoost must be at least 1");
    }
  }

  public static SharingSettings defaults() {
    return new SharingSettings(
        -100, 100, 10, 0.05, 0.8, 4, Duration.ofMinutes(1), Duration.ofSeconds(5));
  }

  public int clamp(int priority) {
    return Math.max(minPriority, Math.min(maxPriority, priority));
  }
}
