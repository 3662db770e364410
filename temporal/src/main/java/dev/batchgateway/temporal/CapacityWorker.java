package dev.batchgateway.temporal;

import dev.batchgateway.workflows.TaskQueues;
import dev.batchgateway.workflows.capacity.CapacityProbeActivities;
import dev.batchgateway.workflows.capacity.CapacityProbeWorkflowImpl;
import io.dropwizard.lifecycle.Managed;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls the capacity task queue: runs the pools' probe workflows and their probe loops on this
 * node. Its own queue, so a probe never waits behind batch work, and only workers that hold the
 * limiter poll it.
 */
public final class CapacityWorker implements Managed {
  private static final Logger log = LoggerFactory.getLogger(CapacityWorker.class);

  /** One probe loop per pool runs at a time; a few spare slots cover restarts. */
  private static final int MAX_PROBES = 16;

  private final WorkerFactory factory;

  public CapacityWorker(TemporalConnection connection, CapacityProbeActivities probes) {
    this.factory = connection.newWorkerFactory();
    Worker worker =
        factory.newWorker(
            TaskQueues.CAPACITY,
            WorkerOptions.newBuilder().setMaxConcurrentActivityExecutionSize(MAX_PROBES).build());
    worker.registerWorkflowImplementationTypes(CapacityProbeWorkflowImpl.class);
    worker.registerActivitiesImplementations(probes);
  }

  @Override
  public void start() {
    factory.start();
    log.info("Worker polling task queue {}", TaskQueues.CAPACITY);
  }

  /** A probe loop ends at its next heartbeat; Temporal resumes it on another worker. */
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
