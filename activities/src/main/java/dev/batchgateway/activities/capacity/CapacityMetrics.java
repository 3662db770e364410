package dev.batchgateway.activities.capacity;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.metrics.MetricNames;
import dev.batchgateway.activities.port.PoolCapacity;
import dev.batchgateway.workflows.capacity.ControllerState;
import dev.batchgateway.workflows.capacity.Decision;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Every decision of the controller as metrics, each labelled with the pool: gauges {@code
 * batch_gateway_capacity_limit}, {@code _in_flight}, {@code _engine_running}, {@code
 * _engine_waiting}, {@code _estimate}, {@code _interactive}, {@code _kv_cache_usage_ratio}, and the
 * counter {@code batch_gateway_capacity_decisions_total{pool,decision}}. The engine gauges show the
 * last reading of the probe in this process (0 in a process that runs no probe).
 */
public final class CapacityMetrics {
  private static final String PREFIX = "batch_gateway_capacity_";

  private final MetricRegistry registry;
  private final PoolCapacity capacity;
  private final ConcurrentMap<String, PoolState> pools = new ConcurrentHashMap<>();

  /** The last decision for a pool and its decision counters, one per {@link Decision}. */
  private record PoolState(
      AtomicReference<ControllerState> last, Map<Decision, Counter> decisions) {}

  public CapacityMetrics(MetricRegistry registry, PoolCapacity capacity) {
    this.registry = registry;
    this.capacity = capacity;
  }

  /** Registers the pool's gauges, once; called at start-up so they exist before the first tick. */
  public void watch(String pool) {
    state(pool);
  }

  public void record(String pool, ControllerState decided) {
    PoolState state = state(pool);
    state.last().set(decided);
    state.decisions().get(decided.lastDecision()).inc();
  }

  private PoolState state(String pool) {
    return pools.computeIfAbsent(
        pool,
        p -> {
          AtomicReference<ControllerState> ref = new AtomicReference<>(ControllerState.INITIAL);
          gauge(p, "limit", () -> capacity.limit(p));
          gauge(p, "in_flight", () -> capacity.inFlight(p));
          gauge(p, "engine_running", () -> ref.get().lastSample().running());
          gauge(p, "engine_waiting", () -> ref.get().lastSample().waiting());
          gauge(p, "estimate", () -> ref.get().capacityEstimate());
          gauge(p, "interactive", () -> ref.get().interactive());
          registry.gauge(
              MetricNames.labeled(PREFIX + "kv_cache_usage_ratio", "pool", p),
              () -> (Gauge<Double>) () -> ref.get().lastSample().kvCacheUsage());
          Map<Decision, Counter> decisions = new EnumMap<>(Decision.class);
          for (Decision decision : Decision.values()) {
            decisions.put(
                decision,
                registry.counter(
                    MetricNames.labeled(
                        PREFIX + "decisions_total",
                        "pool",
                        p,
                        "decision",
                        decision.name().toLowerCase(Locale.ROOT))));
          }
          return new PoolState(ref, decisions);
        });
  }

  private void gauge(String pool, String name, Gauge<Integer> gauge) {
    registry.gauge(MetricNames.labeled(PREFIX + name, "pool", pool), () -> gauge);
  }
}
