package dev.batchgateway.service.capacity;

import dev.batchgateway.activities.capacity.CapacityMetrics;
import dev.batchgateway.activities.capacity.CapacityProbeActivitiesImpl;
import dev.batchgateway.activities.capacity.HttpEngineMetrics;
import dev.batchgateway.activities.port.PoolCapacity;
import dev.batchgateway.temporal.CapacityProbeStarter;
import dev.batchgateway.temporal.CapacityWorker;
import dev.batchgateway.temporal.TemporalConnection;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import io.dropwizard.core.setup.Environment;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Wires the capacity controller into a worker process: the pools' gauges always, and in adaptive
 * mode the capacity worker and the start-up of each pool's probe.
 *
 * <p>The engines' metrics pages are read on the inference client's event loop when it has one (the
 * {@code netty} client), else with the JDK's HTTP client.
 *
 * <p>The probe sets the limit of the limiter in the process that runs it. With the in-process
 * limiter that is only right when one process runs batches; with a shared limiter any worker will
 * do.
 */
public final class CapacityControl {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(CapacityControl.class);

  private CapacityControl() {}

  public static void register(
      Environment environment,
      TemporalConnection temporal,
      CapacitySettings settings,
      List<PoolProbeSpec> pools,
      PoolCapacity capacity,
      int fixedPermits,
      Optional<HttpEngineMetrics.Fetcher> fetcher) {
    CapacityMetrics metrics = new CapacityMetrics(environment.metrics(), capacity);
    pools.forEach(pool -> metrics.watch(pool.pool()));
    if (!settings.isAdaptive()) {
      // A shared limit outlives the processes that set it: one an adaptive probe left behind (as
      // low as 0) would otherwise hold batches of a gateway configured with a fixed limit.
      for (PoolProbeSpec pool : pools) {
        try {
          capacity.setLimit(pool.pool(), fixedPermits);
        } catch (RuntimeException e) {
          log.warn(
              "Could not set pool {} to its fixed limit of {} permits: {}",
              pool.pool(),
              fixedPermits,
              e.getMessage());
        }
      }
      return;
    }
    CapacityProbeActivitiesImpl probes =
        new CapacityProbeActivitiesImpl(
            capacity,
            fetcher
                .map(f -> new HttpEngineMetrics(f, settings.metricsTimeout()))
                .orElseGet(() -> new HttpEngineMetrics(settings.metricsTimeout())),
            metrics,
            Clock.systemUTC());
    environment.lifecycle().manage(new CapacityWorker(temporal, probes));
    environment.lifecycle().manage(new CapacityProbeStarter(temporal, pools));
  }
}
