package dev.batchgateway.activities.chunk;

import java.time.Duration;

/**
 * The worker process is shutting down. Running chunks stop sending new requests, let the ones on
 * the wire answer until the grace period ends, save every result and hand the rest of their lines
 * back to Temporal, which runs them on another worker from that checkpoint. So a rolling restart
 * sends nothing twice when answers come within the grace period.
 */
public final class WorkerDrain {
  private volatile long graceEndsNanos;
  private volatile boolean draining;
  private final Object lock = new Object();
  private int running;

  /** A chunk starts on this worker. */
  public void enter() {
    synchronized (lock) {
      running++;
    }
  }

  /** A chunk on this worker ended, whichever way. */
  public void exit() {
    synchronized (lock) {
      running--;
      lock.notifyAll();
    }
  }

  /** Waits until no chunk runs on this worker, at most {@code max}; true if none does. */
  public boolean awaitIdle(Duration max) throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    synchronized (lock) {
      while (running > 0) {
        long left = end - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        lock.wait(Math.max(1, left / 1_000_000));
      }
      return true;
    }
  }

  /** Starts draining; requests still on the wire after {@code grace} are cut. */
  public void begin(Duration grace) {
    graceEndsNanos = System.nanoTime() + grace.toNanos();
    draining = true;
  }

  public boolean draining() {
    return draining;
  }

  /** True once the grace period of a drain has ended. */
  public boolean graceOver() {
    return draining && System.nanoTime() - graceEndsNanos >= 0;
  }
}
