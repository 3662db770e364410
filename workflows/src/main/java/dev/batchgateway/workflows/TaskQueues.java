package dev.batchgateway.workflows;

/** Task queue names, kept in one place so the client, the workers and the tests agree. */
public final class TaskQueues {
  /** Batch workflows and their lifecycle and chunk activities. */
  public static final String BATCH = "batch-gateway";

  private TaskQueues() {}
}
