package dev.batchgateway.activities.port;

import java.time.Duration;
import java.util.Optional;

/**
 * Caps how many batch requests are in flight against one inference pool, across every worker that
 * shares the implementation. Rejection is a value: {@link #acquire} answers empty when no permit
 * came within the wait. A permit is held only while a request is on the wire: a request waiting to
 * be retried gives its permit back and asks for a new one.
 */
public interface ConcurrencyLimiter {

  Optional<Permit> acquire(PermitRequest request, Duration maxWait) throws InterruptedException;

  /**
   * A held permit. Exactly one of the three outcome methods ends it and gives the permit back; a
   * second call is ignored. The outcome is what the capacity controller hears.
   */
  interface Permit {
    /** The engine answered; {@code latencyNanos} is the whole request's time on the wire. */
    void onSuccess(long latencyNanos);

    /** The engine pushed back: 429, 503, 408 or a timeout. A sign of overload. */
    void onDropped();

    /** Ended for a reason that says nothing about load: a bad request, a cancel, a stop. */
    void onIgnore();
  }
}
