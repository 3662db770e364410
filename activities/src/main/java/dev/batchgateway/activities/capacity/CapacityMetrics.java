package dev.batchgateway.activities.capacity;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.port.PoolCapacity;
import dev.batchgateway.workflows.capacity.ControllerState;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Every decision of the controller as Dropwizard metrics: {@code capacity.<pool>.limit}, {@code
 * in_flight}, {@code engine_running}, {@code engine_waiting}, {@code capacity_estimate}, {@code
 * interactive}, {@code kv_cache_usage}, and meters {@code decisions.up|down|hold}. The engine
 * gauges show the last reading of the probe in this process (0 in a process that runs no probe).
 */
public final class CapacityMetrics {
  private final MetricRegistry registry;
  private final PoolCapacity capacity;
  private final ConcurrentMap<String, AtomicReference<ControllerState>> last =
      new ConcurrentHashMap<>();

  public CapacityMetrics(MetricRegistry registry, PoolCapacity capacity) {
    this.registry = registry;
    this.capacity = capacity;
  }

  /** Registers the pool's gauges, once; called at start-up so they exist before the first tick. */
  public void watch(String pool) {
    state(pool);
  }

  public void record(String pool, ControllerState decided) {
    state(pool).set(decided);
    registry
        .meter(
            MetricRegistry.name(
                "capacity",
                pool,
                "decisions",
                decided.lastDecision().name().toLowerCase(Locale.ROOT)))
        .mark();
  }

  private AtomicReference<ControllerState> state(String pool) {
    return last.computeIfAbsent(
        pool,
        p -> {
          AtomicReference<ControllerState> ref = new AtomicReference<>(ControllerState.INITIAL);
          gauge(p, "limit", () -> capacity.limit(p));
          gauge(p, "in_flight", () -> capacity.inFlight(p));
          gauge(p, "engine_running", () -> ref.get().lastSample().running());
          gauge(p, "engine_waiting", () -> ref.get().lastSample().waiting());
          gauge(p, "capacity_estimate", () -> ref.get().capacityEstimate());
          gauge(p, "interactive", () -> ref.get().interactive());
          registry.gauge(
              MetricRegistry.name("capacity", p, "kv_cache_usage"),
              () -> (Gauge<Double>) () -> ref.get().lastSample().kvCacheUsage());
          return ref;
        });
  }

  private void gauge(String pool, String name, Gauge<Integer> gauge) {
    registry.gauge(MetricRegistry.name("capacity", pool, name), () -> gauge);
  }
}
