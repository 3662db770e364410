package dev.batchgateway.workflows;

import io.temporal.activity.ActivityCancellationType;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import java.time.Duration;

/** Every timeout and retry policy of the workflows, in one place. */
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

  /**
   * Status writes: short, retried without a count until the database answers, however long it is
   * down; a batch's status is never given up on.
   */
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
   * A salvage finalize runs after finalize failed for good, so a few tries are enough; after them
   * the batch is ended without files.
   */
  public static ActivityOptions salvage() {
    return ActivityOptions.newBuilder(fileWork())
        .setRetryOptions(
            RetryOptions.newBuilder()
                .setInitialInterval(Duration.ofSeconds(1))
                .setMaximumInterval(Duration.ofSeconds(10))
                .setMaximumAttempts(3)
                .build())
        .build();
  }

  /**
   * How long past its batch's deadline a chunk may still be retried. The deadline's own stop comes
   * first and reports the lines left as {@code batch_expired}; this only bounds the retries of a
   * chunk whose cancel does not get through.
   */
  public static final Duration CHUNK_DEADLINE_GRACE = Duration.ofMinutes(5);

  /**
   * Chunks: the activity retries single requests itself and carries on while the database is down,
   * so an activity retry means the worker died or the chunk cannot start or end without the store
   * (an outage of PostgreSQL or of the file store). Those are retried without a count until the
   * batch's deadline, never turned into failed lines. Cancellation waits for the chunk to save what
   * it finished.
   *
   * @param untilDeadline time left until the batch's deadline
   */
  public static ActivityOptions chunk(Duration untilDeadline) {
    Duration left = untilDeadline.isNegative() ? Duration.ZERO : untilDeadline;
    return ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofHours(2))
        .setScheduleToCloseTimeout(left.plus(CHUNK_DEADLINE_GRACE))
        .setHeartbeatTimeout(CHUNK_HEARTBEAT_TIMEOUT)
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        .setRetryOptions(
            RetryOptions.newBuilder()
                .setInitialInterval(Duration.ofSeconds(1))
                .setMaximumInterval(Duration.ofSeconds(10))
                .build())
        .build();
  }

  /**
   * Capacity probe heartbeat timeout. Cancellation reaches an activity only with a heartbeat, which
   * the SDK sends at most every 80% of this, so it bounds how long a pin or pause takes to apply
   * (about 3.2 s) as well as how long a dead worker leaves the limit unattended.
   */
  public static final Duration CAPACITY_HEARTBEAT_TIMEOUT = Duration.ofSeconds(4);

  /**
   * The capacity probe loop: retried forever, since the limit must always have an owner; a retry
   * resumes from the heartbeated controller state. Cancellation waits for the loop to return its
   * state, so a signal that restarts it loses nothing.
   */
  public static ActivityOptions capacityProbe(Duration run) {
    return ActivityOptions.newBuilder()
        .setStartToCloseTimeout(run.plusSeconds(30))
        .setHeartbeatTimeout(CAPACITY_HEARTBEAT_TIMEOUT)
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        .setRetryOptions(
            RetryOptions.newBuilder()
                .setInitialInterval(Duration.ofSeconds(1))
                .setMaximumInterval(Duration.ofSeconds(5))
                .build())
        .build();
  }

  /**
   * Cleanup pages: each is short and safe to repeat, so a failed one is retried a few times; a pass
   * that still fails leaves its work to the next scheduled one.
   */
  public static ActivityOptions cleanup() {
    return ActivityOptions.newBuilder()
        .setStartToCloseTimeout(Duration.ofMinutes(5))
        .setRetryOptions(
            RetryOptions.newBuilder()
                .setInitialInterval(Duration.ofSeconds(1))
                .setMaximumInterval(Duration.ofSeconds(30))
                .setMaximumAttempts(10)
                .build())
        .build();
  }
}
