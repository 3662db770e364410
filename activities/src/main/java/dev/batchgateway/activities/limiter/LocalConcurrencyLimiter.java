package dev.batchgateway.activities.limiter;

import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.PoolLimiter;
import dev.batchgateway.activities.port.PoolOutcomes;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An in-process limiter for a gateway that runs as a single node: one resizable gate per pool. Two
 * processes with this limiter each allow the full limit; use the Redis one to share it.
 */
public final class LocalConcurrencyLimiter implements PoolLimiter {
  private final int initialPermits;
  private final ConcurrentMap<String, Gate> pools = new ConcurrentHashMap<>();
  private final OutcomeCounters outcomes = new OutcomeCounters();

  public LocalConcurrencyLimiter(int initialPermits) {
    if (initialPermits < 0) {
      throw new IllegalArgumentException("initialPermits must not be negative");
    }
    this.initialPermits = initialPermits;
  }

  /** A counter of permits in use that waits while it has reached a limit that can move. */
  private static final class Gate {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition freed = lock.newCondition();
    private int limit;
    private int inFlight;

    Gate(int limit) {
      this.limit = limit;
    }

    boolean tryEnter(long waitNanos) throws InterruptedException {
      lock.lockInterruptibly();
      try {
        long left = waitNanos;
        while (inFlight >= limit) {
          if (left <= 0) {
            return false;
          }
          left = freed.awaitNanos(left);
        }
        inFlight++;
        return true;
      } finally {
        lock.unlock();
      }
    }

    void leave() {
      lock.lock();
      try {
        inFlight--;
        freed.signal();
      } finally {
        lock.unlock();
      }
    }

    void setLimit(int permits) {
      lock.lock();
      try {
        int grown = permits - limit;
        limit = permits;
        for (int i = 0; i < grown; i++) {
          freed.signal();
        }
      } finally {
        lock.unlock();
      }
    }
  }

  private Gate gate(String pool) {
    return pools.computeIfAbsent(pool, p -> new Gate(initialPermits));
  }

  @Override
  public Optional<Permit> acquire(PermitRequest request, Duration maxWait)
      throws InterruptedException {
    Gate gate = gate(request.pool());
    if (!gate.tryEnter(maxWait.toNanos())) {
      return Optional.empty();
    }
    return Optional.of(new LocalPermit(request.pool(), gate));
  }

  private final class LocalPermit extends CountedPermit {
    private final Gate gate;

    LocalPermit(String pool, Gate gate) {
      super(pool, outcomes);
      this.gate = gate;
    }

    @Override
    protected void giveBack() {
      gate.leave();
    }
  }

  @Override
  public void setLimit(String pool, int permits) {
    if (permits < 0) {
      throw new IllegalArgumentException("permits must not be negative");
    }
    gate(pool).setLimit(permits);
  }

  @Override
  public int limit(String pool) {
    Gate gate = gate(pool);
    gate.lock.lock();
    try {
      return gate.limit;
    } finally {
      gate.lock.unlock();
    }
  }

  @Override
  public int inFlight(String pool) {
    Gate gate = gate(pool);
    gate.lock.lock();
    try {
      return gate.inFlight;
    } finally {
      gate.lock.unlock();
    }
  }

  @Override
  public PoolOutcomes outcomes(String pool) {
    return outcomes.snapshot(pool);
  }

  /** Permits free right now in {@code pool}; tests use it to check that none leak. */
  public int available(String pool) {
    return Math.max(0, limit(pool) - inFlight(pool));
  }
}
