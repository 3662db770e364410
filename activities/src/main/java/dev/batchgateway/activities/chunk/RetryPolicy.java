package dev.batchgateway.activities.chunk;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** Which failed requests are tried again, and after how long: capped exponential with jitter. */
final class RetryPolicy {
  private final int maxAttempts;
  private final long initialMillis;
  private final long maxMillis;

  RetryPolicy(int maxAttempts, Duration initial, Duration max) {
    this.maxAttempts = maxAttempts;
    this.initialMillis = initial.toMillis();
    this.maxMillis = max.toMillis();
  }

  /** 429, 5xx and 408 may pass; other 4xx are the request's own fault. */
  static boolean isRetryableStatus(int status) {
    return status == 429 || status == 408 || status >= 500;
  }

  /** Answers by which an engine or its gateway says it has too much to do right now. */
  static boolean isOverload(int status) {
    return status == 429 || status == 503 || status == 408 || status == 504;
  }

  boolean mayRetry(int attempt) {
    return attempt < maxAttempts;
  }

  /**
   * Delay before try {@code attempt + 1}. A server's {@code Retry-After} is honoured (up to the
   * cap); otherwise full jitter over the exponential step.
   */
  long delayMillis(int attempt, long retryAfterMillis) {
    if (retryAfterMillis >= 0) {
      return Math.min(retryAfterMillis, maxMillis);
    }
    long step = Math.min(maxMillis, initialMillis << Math.min(20, attempt - 1));
    return step / 2 + ThreadLocalRandom.current().nextLong(step / 2 + 1);
  }
}
