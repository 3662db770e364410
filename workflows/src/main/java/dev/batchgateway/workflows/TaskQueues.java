package dev.batchgateway.workflows;

/** Task queue names, kept in one place so the client, the workers and the tests agree. */
public final class TaskQueues {
  /**
   * Batch workflows and their chunk activities (and, for workflows started before {@link
   * #LIFECYCLE} existed, their lifecycle activities too).
   */
  public static final String BATCH = "batch-gateway";

  /** Capacity probe workflows and their activity, on workers that hold the pools' limiter. */
  public static final String CAPACITY = "batch-gateway-capacity";

  /**
   * Status writes, planning and finalizing. Their own queue and worker slots keep them from waiting
   * behind running chunks, which may fill every activity slot of {@link #BATCH} for hours.
   */
  public static final String LIFECYCLE = "batch-gateway-lifecycle";

  /** The scheduled cleanup workflow and its activities. */
  public static final String CLEANUP = "batch-gateway-cleanup";

  private TaskQueues() {}
}
