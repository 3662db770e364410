package dev.batchgateway.activities.port;

import java.time.Duration;
import java.util.Optional;

/**
 * Caps how many batch requests are in flight against one inference pool. Rejection is a value:
 * {@link #acquire} answers empty when no permit came within the wait.
 */
public interface ConcurrencyLimiter {

  Optional<Permit> acquire(String pool, Duration maxWait) throws InterruptedException;

  /** A held permit; release it exactly once. */
  interface Permit {
    void release();
  }
}
