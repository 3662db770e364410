package dev.batchgateway.activities;

import dev.batchgateway.activities.port.ConcurrencyLimiter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** An in-process limiter, one semaphore per pool, for a gateway that runs as a single node. */
public final class LocalConcurrencyLimiter implements ConcurrencyLimiter {
  private final int permitsPerPool;
  private final ConcurrentMap<String, Semaphore> pools = new ConcurrentHashMap<>();

  public LocalConcurrencyLimiter(int permitsPerPool) {
    if (permitsPerPool < 1) {
      throw new IllegalArgumentException("permitsPerPool must be at least 1");
    }
    this.permitsPerPool = permitsPerPool;
  }

  @Override
  public Optional<Permit> acquire(String pool, Duration maxWait) throws InterruptedException {
    Semaphore semaphore = pools.computeIfAbsent(pool, p -> new Semaphore(permitsPerPool));
    if (!semaphore.tryAcquire(maxWait.toMillis(), TimeUnit.MILLISECONDS)) {
      return Optional.empty();
    }
    AtomicBoolean released = new AtomicBoolean();
    return Optional.of(
        () -> {
          if (released.compareAndSet(false, true)) {
            semaphore.release();
          }
        });
  }

  /** Permits free right now in {@code pool}; tests use it to check that none leak. */
  public int available(String pool) {
    Semaphore semaphore = pools.get(pool);
    return semaphore == null ? permitsPerPool : semaphore.availablePermits();
  }
}
