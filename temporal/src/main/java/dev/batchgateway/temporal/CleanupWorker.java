package dev.batchgateway.temporal;

import dev.batchgateway.workflows.TaskQueues;
import dev.batchgateway.workflows.cleanup.CleanupActivities;
import dev.batchgateway.workflows.cleanup.CleanupWorkflowImpl;
import io.dropwizard.lifecycle.Managed;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls the cleanup task queue. A queue of its own, so a pass never waits behind batch work and
 * runs on any worker that has cleanup enabled.
 */
public final class CleanupWorker implements Managed {
  private static final Logger log = LoggerFactory.getLogger(CleanupWorker.class);

  /** One pass runs at a time (the schedule skips overlaps) and its pages run one by one. */
  private static final int MAX_ACTIVITIES = 2;

  private final WorkerFactory factory;

  public CleanupWorker(TemporalConnection connection, CleanupActivities activities) {
    this.factory = connection.newWorkerFactory();
    Worker worker =
        factory.newWorker(
            TaskQueues.CLEANUP,
            WorkerOptions.newBuilder()
                .setMaxConcurrentActivityExecutionSize(MAX_ACTIVITIES)
                .build());
    worker.registerWorkflowImplementationTypes(CleanupWorkflowImpl.class);
    worker.registerActivitiesImplementations(activities);
  }

  @Override
  public void start() {
    factory.start();
    log.info("Worker polling task queue {}", TaskQueues.CLEANUP);
  }

  /** A page cut short is retried by Temporal; every page is safe to repeat. */
  @Override
  public void stop() throws InterruptedException {
    factory.shutdown();
    factory.awaitTermination(5, TimeUnit.SECONDS);
    if (!factory.isTerminated()) {
      factory.shutdownNow();
      factory.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
