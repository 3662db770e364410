package dev.batchgateway.workflows;

/** Task queue names, kept in one place so the client, the workers and the tests agree. */
public final class TaskQueues {
  /** Batch workflows and their lifecycle and chunk activities. */
  public static final String BATCH = "batch-gateway";

  /** Capacity probe workflows and their activity, on workers that hold the pools' limiter. */
  public static final String CAPACITY = "batch-gateway-capacity";

  private TaskQueues() {}
}
