package dev.batchgateway.workflows;

import io.temporal.activity.ActivityCancellationType;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import java.time.Duration;

/** Every timeout and retry policy of the batch workflow, in one place. */
public final class ActivityPolicies {

  /**
   * Chunk heartbeat timeout. A chunk whose worker died is retried this long after its last
   * heartbeat, so it bounds the pause a crash causes; the SDK sends heartbeats at most every 80% of
   * it.
   */
  public static final Duration CHUNK_HEARTBEAT_TIMEOUT = Duration.ofSeconds(10);

  private ActivityPolicies() {}

  /**
   * {@code options} on {@link TaskQueues#LIFECYCLE}, where status writes, plan and finalize run
   * with worker slots of their own.
   */
  public static ActivityOptions onLifecycleQueue(ActivityOptions options) {
    return ActivityOptions.newBuilder(options).setTaskQueue(TaskQueues.LIFECYCLE).build();
  }

  /** Status writes: short, retried until the database answers. */
  public static ActivityOptions status() {
    return ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofSeconds(30))
        .setRetryOptions(
            RetryOptions.newBuilder()
                .setInitialInterval(Duration.ofMillis(500))
                .setMaximumInterval(Duration.ofSeconds(30))
                .build())
        .build();
  }

  /** Plan and finalize stream whole files, so they heartbeat and get a long start-to-close. */
  public static ActivityOptions fileWork() {
    return ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofMinutes(30))
        .setHeartbeatTimeout(Duration.ofSeconds(30))
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        .setRetryOptions(
            RetryOptions.newBuilder()
                .setInitialInterval(Duration.ofSeconds(1))
                .setMaximumInterval(Duration.ofMinutes(1))
                .setMaximumAttempts(20)
                .build())
        .build();
  }

  /**
   * Chunks: the activity retries single requests itself, so an activity retry means the worker died
   * or the chunk hit an unexpected error. Cancellation waits for the chunk to save what it
   * finished.
   */
  public static ActivityOptions chunk() {
    return ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofHours(2))
        .setHeartbeatTimeout(CHUNK_HEARTBEAT_TIMEOUT)
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        .setRetryOptions(
            RetryOptions.newBuilder()
                .setInitialInterval(Duration.ofSeconds(1))
                .setMaximumInterval(Duration.ofSeconds(30))
                .setMaximumAttempts(20)
                .build())
        .build();
  }
}
