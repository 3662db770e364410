package dev.batchgateway.temporal;

import dev.batchgateway.workflows.BatchLifecycleActivities;
import dev.batchgateway.workflows.BatchWorkflowImpl;
import dev.batchgateway.workflows.ChunkActivities;
import dev.batchgateway.workflows.TaskQueues;
import io.dropwizard.lifecycle.Managed;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls the batch task queue (batch workflows and chunks) and the lifecycle queue (status writes,
 * plan, finalize), each with its own activity slots, on this node.
 */
public final class BatchWorker implements Managed {
  private static final Logger log = LoggerFactory.getLogger(BatchWorker.class);

  private final WorkerFactory factory;

  public BatchWorker(
      TemporalConnection connection,
      TemporalSettings settings,
      BatchLifecycleActivities lifecycle,
      ChunkActivities chunks) {
    this.factory = WorkerFactory.newInstance(connection.client());
    Worker worker =
        factory.newWorker(
            TaskQueues.BATCH,
            WorkerOptions.newBuilder()
                .setMaxConcurrentActivityExecutionSize(settings.getMaxConcurrentActivities())
                .setMaxConcurrentWorkflowTaskExecutionSize(settings.getMaxConcurrentWorkflowTasks())
                .build());
    worker.registerWorkflowImplementationTypes(BatchWorkflowImpl.class);
    // Lifecycle activities stay here too for workflows started before they had their own queue.
    worker.registerActivitiesImplementations(lifecycle, chunks);
    factory
        .newWorker(
            TaskQueues.LIFECYCLE,
            WorkerOptions.newBuilder()
                .setMaxConcurrentActivityExecutionSize(
                    settings.getMaxConcurrentLifecycleActivities())
                .build())
        .registerActivitiesImplementations(lifecycle);
  }

  @Override
  public void start() {
    factory.start();
    log.info("Worker polling task queues {} and {}", TaskQueues.BATCH, TaskQueues.LIFECYCLE);
  }

  /**
   * Gives running activities a few seconds, then interrupts them; Temporal retries an interrupted
   * chunk from its last checkpoint once its heartbeat times out.
   */
  @Override
  public void stop() throws InterruptedException {
    factory.shutdown();
    factory.awaitTermination(10, TimeUnit.SECONDS);
    if (!factory.isTerminated()) {
      factory.shutdownNow();
      factory.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
