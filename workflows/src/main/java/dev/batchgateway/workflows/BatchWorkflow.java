package dev.batchgateway.workflows;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * One workflow per batch; its workflow id is the batch id. Operators may send the signals from the
 * Temporal UI or {@code temporal workflow signal} as well as through the REST API.
 */
@WorkflowInterface
public interface BatchWorkflow {

  @WorkflowMethod
  BatchOutcome run(BatchInput input);

  /** Stops the batch: unfinished lines become {@code batch_cancelled} errors. */
  @SignalMethod
  void cancel(CancelRequest request);

  /** Changes the priority used for chunks dispatched from now on. */
  @SignalMethod
  void reprioritize(ReprioritizeRequest request);

  @QueryMethod
  BatchProgress progress();
}
