package dev.batchgateway.workflows.cleanup;

import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * One cleanup pass: ends expired files, removes the bytes of deleted files, the work folders of
 * finished batches and the records of batches past their retention. Started by the Temporal
 * Schedule {@link #SCHEDULE_ID}; a pass that finds more than its page budget leaves the rest to the
 * next one.
 */
@WorkflowInterface
public interface CleanupWorkflow {

  /** The schedule's fixed id: every process that starts ensures this one schedule. */
  String SCHEDULE_ID = "batch-gateway-cleanup";

  @WorkflowMethod
  CleanupReport run(CleanupRequest request);
}
