package dev.batchgateway.activities.chunk;

import java.util.function.LongSupplier;

/**
 * Whether an inference pool can be reached at all, as its recent connection attempts say. Closed:
 * requests go out. After {@code failureThreshold} connection failures in a row it opens: nothing is
 * sent but one probe request every {@code probeInterval} (half-open while a probe is out); the
 * first HTTP answer, whatever its status, closes it again. A connection failure is infrastructure,
 * not an answer about the request, so requests waiting on an open circuit are not failed for it.
 */
public final class PoolCircuit {
  /** Reported as a gauge: 0 closed, 1 open, 2 half-open. */
  public enum State {
    CLOSED,
    OPEN,
    HALF_OPEN
  }

  private final int failureThreshold;
  private final long probeIntervalNanos;
  private final LongSupplier nanoTime;
  private final Runnable onOpen;
  private State state = State.CLOSED;
  private int consecutiveFailures;
  private long nextProbeNanos;

  /**
   * @param onOpen called each time the circuit opens (from closed), for a metric or a log line
   */
  public PoolCircuit(
      int failureThreshold, long probeIntervalNanos, LongSupplier nanoTime, Runnable onOpen) {
    this.failureThreshold = Math.max(1, failureThreshold);
    this.probeIntervalNanos = probeIntervalNanos;
    this.nanoTime = nanoTime;
    this.onOpen = onOpen;
  }

  /** Whether a request may be sent now; when open, true for one probe per interval. */
  public synchronized boolean tryPass() {
    if (state == State.CLOSED) {
      return true;
    }
    long now = nanoTime.getAsLong();
    if (now - nextProbeNanos < 0) {
      return false;
    }
    state = State.HALF_OPEN;
    nextProbeNanos = now + probeIntervalNanos;
    return true;
  }

  /** The pool answered over HTTP: it is reachable. */
  public synchronized void onReachable() {
    consecutiveFailures = 0;
    state = State.CLOSED;
  }

  /** A connection to the pool could not be made. */
  public void onUnreachable() {
    boolean opened;
    synchronized (this) {
      consecutiveFailures++;
      opened = state == State.CLOSED && consecutiveFailures >= failureThreshold;
      if (opened || state == State.HALF_OPEN) {
        state = State.OPEN;
        nextProbeNanos = nanoTime.getAsLong() + probeIntervalNanos;
      }
    }
    if (opened) {
      onOpen.run();
    }
  }

  public synchronized State state() {
    return state;
  }
}
