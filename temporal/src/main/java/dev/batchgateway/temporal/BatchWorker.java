package dev.batchgateway.temporal;

import dev.batchgateway.workflows.BatchLifecycleActivities;
import dev.batchgateway.workflows.BatchWorkflowImpl;
import dev.batchgateway.workflows.ChunkActivities;
import dev.batchgateway.workflows.TaskQueues;
import io.dropwizard.lifecycle.Managed;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
  private final Duration grace;
  private final Drainer drain;
  private final List<Worker> workers = new ArrayList<>();

  /** Tells running chunks to hand their work back, and waits for them. */
  @FunctionalInterface
  public interface Drainer {
    /** Begins the drain with {@code grace} for requests on the wire and waits until it ends. */
    void drain(Duration grace) throws InterruptedException;
  }

  /**
   * {@code drain} is told, with the grace period, when this worker stops: running chunks then stop
   * sending, let what is on the wire answer and hand their other lines back.
   */
  public BatchWorker(
      TemporalConnection connection,
      TemporalSettings settings,
      BatchLifecycleActivities lifecycle,
      ChunkActivities chunks,
      Drainer drain) {
    this.factory = connection.newWorkerFactory();
    this.grace = settings.getShutdownGrace();
    this.drain = drain;
    Worker worker =
        factory.newWorker(
            TaskQueues.BATCH,
            WorkerOptions.newBuilder()
                .setMaxConcurrentActivityExecutionSize(settings.getMaxConcurrentActivities())
                .setMaxConcurrentWorkflowTaskExecutionSize(settings.getMaxConcurrentWorkflowTasks())
                .build());
    workers.add(worker);
    worker.registerWorkflowImplementationTypes(BatchWorkflowImpl.class);
    // Lifecycle activities stay here too for workflows started before they had their own queue.
    worker.registerActivitiesImplementations(lifecycle, chunks);
    Worker lifecycleWorker =
        factory.newWorker(
            TaskQueues.LIFECYCLE,
            WorkerOptions.newBuilder()
                .setMaxConcurrentActivityExecutionSize(
                    settings.getMaxConcurrentLifecycleActivities())
                .build());
    lifecycleWorker.registerActivitiesImplementations(lifecycle);
    workers.add(lifecycleWorker);
  }

  @Override
  public void start() {
    factory.start();
    log.info("Worker polling task queues {} and {}", TaskQueues.BATCH, TaskQueues.LIFECYCLE);
  }

  /**
   * Stops taking tasks, then drains: running chunks send nothing new, wait up to the grace period
   * for the requests on the wire, save every result and fail their attempt as retryable, so another
   * worker resumes them from that checkpoint without sending anything twice. They keep heartbeating
   * meanwhile (the worker is shut down only after the drain), so Temporal does not give their lines
   * to another worker early. Whatever still runs a few seconds after the grace period is
   * interrupted; Temporal retries it from its last checkpoint once its heartbeat times out.
   */
  @Override
  public void stop() throws InterruptedException {
    log.info(
        "Worker stopping: running chunks get {} s to finish what is on the wire",
        grace.toSeconds());
    workers.forEach(Worker::suspendPolling);
    drain.drain(grace);
    factory.shutdown();
    factory.awaitTermination(10, TimeUnit.SECONDS);
    if (!factory.isTerminated()) {
      log.warn("Activities still running after the grace period; interrupting them");
      factory.shutdownNow();
      factory.awaitTermination(5, TimeUnit.SECONDS);
    }
    log.info("Worker stopped");
  }
}
