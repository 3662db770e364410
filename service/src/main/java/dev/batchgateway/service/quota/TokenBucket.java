package dev.batchgateway.service.quota;

import java.util.function.LongSupplier;

/**
 * A token bucket: it holds up to {@code burst} tokens, refills at {@code perSecond}, and each call
 * takes one. Starts full. The clock is injected (nanoseconds, monotonic) so tests can drive it.
 */
public final class TokenBucket {
  private static final double NANOS_PER_SECOND = 1e9;

  private final double burst;
  private final double perNano;
  private final LongSupplier nanoClock;
  private double tokens;
  private long refilledAt;

  public TokenBucket(double perSecond, long burst, LongSupplier nanoClock) {
    if (!(perSecond > 0) || Double.isInfinite(perSecond) || burst < 1) {
      throw new IllegalArgumentException(
          "A bucket needs a positive finite rate and a burst of 1 or more");
    }
    this.burst = burst;
    this.perNano = perSecond / NANOS_PER_SECOND;
    this.nanoClock = nanoClock;
    this.tokens = burst;
    this.refilledAt = nanoClock.getAsLong();
  }

  /**
   * Takes a token if there is one.
   *
   * @return 0 when a token was taken; otherwise how many nanoseconds until the next one is there
   *     (nothing is taken)
   */
  public synchronized long tryTake() {
    long now = nanoClock.getAsLong();
    long elapsed = now - refilledAt;
    if (elapsed > 0) {
      tokens = Math.min(burst, tokens + elapsed * perNano);
      refilledAt = now;
    }
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.max(1, (long) Math.ceil((1 - tokens) / perNano));
  }
}
