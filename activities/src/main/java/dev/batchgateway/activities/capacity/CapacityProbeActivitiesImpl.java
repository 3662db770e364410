package dev.batchgateway.activities.capacity;

import dev.batchgateway.activities.port.PoolCapacity;
import dev.batchgateway.activities.port.PoolOutcomes;
import dev.batchgateway.workflows.capacity.CapacityProbeActivities;
import dev.batchgateway.workflows.capacity.ControllerState;
import dev.batchgateway.workflows.capacity.EngineSample;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import dev.batchgateway.workflows.capacity.ProbeRequest;
import dev.batchgateway.workflows.capacity.ProbeResult;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCompletionException;
import java.time.Clock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's fast loop: read the engines, decide, set the limit, heartbeat the state; every
 * {@code intervalMillis} for {@code runMillis}. A retry resumes from the last heartbeat; a cancel
 * (a pin, a pause) ends the loop at the next heartbeat and returns the state.
 */
public final class CapacityProbeActivitiesImpl implements CapacityProbeActivities {
  private static final Logger log = LoggerFactory.getLogger(CapacityProbeActivitiesImpl.class);

  private final PoolCapacity capacity;
  private final EngineMetrics engines;
  private final CapacityMetrics metrics;
  private final CapacityController controller = new CapacityController();
  private final Clock clock;

  public CapacityProbeActivitiesImpl(
      PoolCapacity capacity, EngineMetrics engines, CapacityMetrics metrics, Clock clock) {
    this.capacity = capacity;
    this.engines = engines;
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public ProbeResult probe(ProbeRequest request) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    ControllerState start =
        context.getHeartbeatDetails(ControllerState.class).orElse(request.state());
    return new ProbeResult(loop(request, start, context::heartbeat));
  }

  /**
   * Runs ticks until the run time is up, the heartbeat reports a cancel, or the thread is
   * interrupted; returns the last state.
   */
  ControllerState loop(
      ProbeRequest request, ControllerState start, Consumer<ControllerState> heartbeat) {
    PoolProbeSpec spec = request.spec();
    String pool = spec.pool();
    metrics.watch(pool);
    long end = clock.millis() + spec.runMillis();
    PoolOutcomes seen = capacity.outcomes(pool);
    ControllerState state = start;
    while (true) {
      long tickStart = clock.millis();
      EngineSample sample =
          spec.metricsUrls().isEmpty()
              ? EngineSample.UNREACHABLE
              : engines.read(spec.metricsUrls());
      PoolOutcomes outcomes = capacity.outcomes(pool);
      int limit = capacity.limit(pool);
      state =
          controller.decide(
              spec,
              request.steering(),
              state,
              sample,
              limit,
              capacity.inFlight(pool),
              outcomes.minus(seen),
              clock.millis());
      seen = outcomes;
      if (state.limit() != limit) {
        capacity.setLimit(pool, state.limit());
        log.debug("Pool {} limit {} -> {} ({})", pool, limit, state.limit(), state.mode());
      }
      metrics.record(pool, state);
      try {
        heartbeat.accept(state);
      } catch (ActivityCompletionException e) {
        // Cancelled (the workflow has a new policy) or the worker is stopping.
        return state;
      }
      long now = clock.millis();
      if (now >= end) {
        return state;
      }
      long sleep = Math.min(end - now, spec.intervalMillis() - (now - tickStart));
      if (sleep > 0) {
        try {
          Thread.sleep(sleep);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return state;
        }
      }
    }
  }
}
