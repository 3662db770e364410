package dev.batchgateway.activities.limiter;

import dev.batchgateway.activities.port.PoolOutcomes;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/** Per-pool running totals of permit outcomes in this process, for the capacity controller. */
public final class OutcomeCounters {
  private final ConcurrentMap<String, Counters> pools = new ConcurrentHashMap<>();

  private static final class Counters {
    final LongAdder succeeded = new LongAdder();
    final LongAdder dropped = new LongAdder();
    final LongAdder ignored = new LongAdder();
    final LongAdder latencyNanos = new LongAdder();
  }

  private Counters of(String pool) {
    return pools.computeIfAbsent(pool, p -> new Counters());
  }

  public void success(String pool, long latencyNanos) {
    Counters counters = of(pool);
    counters.succeeded.increment();
    counters.latencyNanos.add(latencyNanos);
  }

  public void dropped(String pool) {
    of(pool).dropped.increment();
  }

  public void ignored(String pool) {
    of(pool).ignored.increment();
  }

  public PoolOutcomes snapshot(String pool) {
    Counters counters = pools.get(pool);
    if (counters == null) {
      return PoolOutcomes.ZERO;
    }
    return new PoolOutcomes(
        counters.succeeded.sum(),
        counters.dropped.sum(),
        counters.ignored.sum(),
        counters.latencyNanos.sum());
  }
}
