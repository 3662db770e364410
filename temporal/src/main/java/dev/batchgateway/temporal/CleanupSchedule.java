package dev.batchgateway.temporal;

import dev.batchgateway.workflows.TaskQueues;
import dev.batchgateway.workflows.cleanup.CleanupRequest;
import dev.batchgateway.workflows.cleanup.CleanupWorkflow;
import io.dropwizard.lifecycle.Managed;
import io.temporal.api.enums.v1.ScheduleOverlapPolicy;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.schedules.Schedule;
import io.temporal.client.schedules.ScheduleActionStartWorkflow;
import io.temporal.client.schedules.ScheduleAlreadyRunningException;
import io.temporal.client.schedules.ScheduleClient;
import io.temporal.client.schedules.ScheduleClientOptions;
import io.temporal.client.schedules.ScheduleIntervalSpec;
import io.temporal.client.schedules.ScheduleOptions;
import io.temporal.client.schedules.SchedulePolicy;
import io.temporal.client.schedules.ScheduleSpec;
import io.temporal.client.schedules.ScheduleUpdate;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure the cleanup schedule exists, at start-up, in the background, retrying while Temporal
 * is still starting. The schedule id is fixed: the first process creates it, every later one finds
 * it and writes its own interval and settings into it, so there is always exactly one.
 */
public final class CleanupSchedule implements Managed {
  private static final Logger log = LoggerFactory.getLogger(CleanupSchedule.class);

  /** Workflow id of each pass; the schedule appends the time of the run. */
  static final String WORKFLOW_ID = "cleanup";

  private final TemporalConnection temporal;
  private final Duration interval;
  private final CleanupRequest request;
  private Thread thread;

  public CleanupSchedule(TemporalConnection temporal, Duration interval, CleanupRequest request) {
    this.temporal = temporal;
    this.interval = interval;
    this.request = request;
  }

  @Override
  public void start() {
    thread = Thread.ofVirtual().name("cleanup-schedule").start(this::ensureInBackground);
  }

  @Override
  public void stop() {
    thread.interrupt();
  }

  private void ensureInBackground() {
    while (!Thread.currentThread().isInterrupted()) {
      try {
        ensure(scheduleClient(temporal), interval, request);
        log.info("Cleanup schedule {} runs every {}", CleanupWorkflow.SCHEDULE_ID, interval);
        return;
      } catch (RuntimeException e) {
        log.info("Cleanup schedule not ensured yet: {}", e.getMessage());
        try {
          Thread.sleep(2000);
        } catch (InterruptedException interrupted) {
          return;
        }
      }
    }
  }

  public static ScheduleClient scheduleClient(TemporalConnection temporal) {
    return ScheduleClient.newInstance(
        temporal.stubs(),
        ScheduleClientOptions.newBuilder().setNamespace(temporal.namespace()).build());
  }

  /**
   * Creates the schedule, or, when it exists, gives it this interval and these settings. Safe for
   * any number of processes to call at once.
   */
  public static void ensure(ScheduleClient client, Duration interval, CleanupRequest request) {
    Schedule schedule = schedule(interval, request);
    try {
      client.createSchedule(
          CleanupWorkflow.SCHEDULE_ID, schedule, ScheduleOptions.newBuilder().build());
    } catch (ScheduleAlreadyRunningException e) {
      client
          .getHandle(CleanupWorkflow.SCHEDULE_ID)
          .update(
              input ->
                  new ScheduleUpdate(
                      Schedule.newBuilder(schedule)
                          .setState(input.getDescription().getSchedule().getState())
                          .build()));
    }
  }

  /** Overlapping passes are skipped: a pass that takes longer than the interval runs alone. */
  static Schedule schedule(Duration interval, CleanupRequest request) {
    return Schedule.newBuilder()
        .setAction(
            ScheduleActionStartWorkflow.newBuilder()
                .setWorkflowType(CleanupWorkflow.class)
                .setArguments(request)
                .setOptions(
                    WorkflowOptions.newBuilder()
                        .setWorkflowId(WORKFLOW_ID)
                        .setTaskQueue(TaskQueues.CLEANUP)
                        .build())
                .build())
        .setSpec(
            ScheduleSpec.newBuilder()
                .setIntervals(List.of(new ScheduleIntervalSpec(interval)))
                .build())
        .setPolicy(
            SchedulePolicy.newBuilder()
                .setOverlap(ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_SKIP)
                .build())
        .build();
  }
}
