package dev.batchgateway.workflows.capacity;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Sizes one inference pool's batch limit from what its engines report, so batch traffic fills idle
 * capacity and leaves interactive traffic room. One per pool, workflow id {@link #workflowId}; it
 * runs forever, continuing as new to keep its history short. Operators steer it with the signals
 * from the Temporal UI or {@code temporal workflow signal}.
 */
@WorkflowInterface
public interface CapacityProbeWorkflow {

  static String workflowId(String pool) {
    return "capacity-probe-" + pool;
  }

  @WorkflowMethod
  void run(ProbeInput input);

  /**
   * Replaces the settings; sent by every worker at start-up with its configuration, so a changed
   * configuration reaches a probe that is already running.
   */
  @SignalMethod
  void configure(PoolProbeSpec spec);

  /** Holds the limit at the given permits until {@link #unpin}. */
  @SignalMethod
  void pin(PinRequest request);

  /** Gives the limit back to the controller. */
  @SignalMethod
  void unpin();

  /** Sets the limit to 0: no batch request starts; those in flight finish. */
  @SignalMethod
  void pause();

  /** Ends a pause. */
  @SignalMethod
  void resume();

  @QueryMethod
  ProbeStatus state();
}
