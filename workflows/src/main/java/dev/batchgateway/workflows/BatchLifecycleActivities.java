package dev.batchgateway.workflows;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** Activities that move a batch through its lifecycle: plan, status writes, finalize. */
@ActivityInterface
public interface BatchLifecycleActivities {

  /** Streams and validates the input file and writes the chunk files of the plan. */
  @ActivityMethod
  PlanResult plan(PlanRequest request);

  /** Persists a status change, compare-and-set: a write that would go backwards is ignored. */
  @ActivityMethod
  void recordStatus(StatusChange change);

  /** Persists the priority the workflow now dispatches chunks with. */
  @ActivityMethod
  void recordPriority(PriorityChange change);

  /**
   * Writes the output and error files, the final counts and usage, and the terminal status. Once
   * the batch is terminal it changes nothing and answers what was recorded.
   */
  @ActivityMethod(name = "finalizeBatch")
  FinalizeResult finalizeBatch(FinalizeRequest request);

  /**
   * Ends a batch whose files could not be written: records its problems as {@code errors} and moves
   * it to a terminal status from any other. Does nothing once the batch is terminal.
   */
  @ActivityMethod
  void failBatch(BatchFailure failure);
}
