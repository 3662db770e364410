package dev.batchgateway.service.lifecycle;

import dev.batchgateway.service.port.BatchEngine;
import dev.batchgateway.temporal.BatchWorkflowClient;
import dev.batchgateway.temporal.TemporalUnavailableException;
import dev.batchgateway.workflows.BatchInput;
import io.temporal.client.WorkflowExecutionAlreadyStarted;

/** The batch engine as Temporal: one {@code BatchWorkflow} per batch, its id the batch id. */
public final class TemporalBatchEngine implements BatchEngine {
  private final BatchWorkflowClient workflows;

  public TemporalBatchEngine(BatchWorkflowClient workflows) {
    this.workflows = workflows;
  }

  @Override
  public void requireReachable() {
    try {
      workflows.requireReachable();
    } catch (TemporalUnavailableException e) {
      throw new UnavailableException(e.getMessage(), e);
    }
  }

  @Override
  public void start(BatchInput input) {
    try {
      workflows.start(input);
    } catch (WorkflowExecutionAlreadyStarted e) {
      // An earlier try of this start reached Temporal: the workflow runs.
    }
  }

  @Override
  public boolean exists(String batchId) {
    return workflows.exists(batchId);
  }

  @Override
  public boolean cancel(String batchId, String reason) {
    return workflows.cancel(batchId, reason);
  }

  @Override
  public boolean reprioritize(String batchId, int priority) {
    return workflows.reprioritize(batchId, priority);
  }
}
