package dev.batchgateway.workflows.capacity;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/**
 * The fast loop of a pool's capacity controller; runs on a worker that holds the pool's limiter.
 */
@ActivityInterface
public interface CapacityProbeActivities {

  /**
   * Reads the engines every {@code spec.intervalMillis}, sets the pool's limit, heartbeats the
   * controller's state, and returns it after {@code spec.runMillis} or when cancelled.
   */
  @ActivityMethod
  ProbeResult probe(ProbeRequest request);
}
