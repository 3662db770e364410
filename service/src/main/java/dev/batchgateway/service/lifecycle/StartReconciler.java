package dev.batchgateway.service.lifecycle;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.service.db.JdbiMetadataStore;
import dev.batchgateway.service.db.JdbiMetadataStore.UnstartedBatch;
import dev.batchgateway.temporal.BatchWorkflowClient;
import io.dropwizard.lifecycle.Managed;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Settles batch rows whose workflow is not known to have started: the API process died between
 * inserting the row and starting the workflow, or between the start and recording it. A row older
 * than {@code grace} whose workflow Temporal knows is marked started; one whose workflow Temporal
 * does not know is failed with {@value #CODE}: nothing of it ran, and its creator never got an
 * answer, so running it now could run it twice if they created it again. Every API process runs
 * one; they agree, since each step is a compare-and-set on the row.
 */
public final class StartReconciler implements Managed {
  static final String CODE = "batch_not_started";
  private static final Logger log = LoggerFactory.getLogger(StartReconciler.class);
  private static final int PAGE = 100;

  private final JdbiMetadataStore metadata;
  private final BatchWorkflowClient workflows;
  private final Clock clock;
  private final Duration grace;
  private final Duration interval;
  private final Counter markedStarted;
  private final Counter failed;
  private ScheduledExecutorService executor;

  public StartReconciler(
      JdbiMetadataStore metadata,
      BatchWorkflowClient workflows,
      Clock clock,
      Duration grace,
      Duration interval,
      MetricRegistry metrics) {
    this.metadata = metadata;
    this.workflows = workflows;
    this.clock = clock;
    this.grace = grace;
    this.interval = interval;
    this.markedStarted = metrics.counter("batch_gateway_start_reconciler_marked_started_total");
    this.failed = metrics.counter("batch_gateway_start_reconciler_failures_total");
  }

  @Override
  public void start() {
    executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "start-reconciler");
              thread.setDaemon(true);
              return thread;
            });
    executor.scheduleWithFixedDelay(
        this::safeRun, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void stop() {
    if (executor != null) {
      executor.shutdownNow();
    }
  }

  private void safeRun() {
    try {
      reconcileOnce();
    } catch (RuntimeException e) {
      // Temporal or the database is away; the next round tries again.
      log.warn("Start reconciler: {}", e.toString());
    }
  }

  /** One pass over the rows old enough to judge; returns how many it settled. */
  public int reconcileOnce() {
    long now = clock.instant().getEpochSecond();
    List<UnstartedBatch> rows = metadata.unstartedBatches(now - grace.toSeconds(), PAGE);
    int settled = 0;
    for (UnstartedBatch row : rows) {
      if (workflows.exists(row.id())) {
        metadata.markWorkflowStarted(row.tenant(), row.id());
        markedStarted.inc();
        log.info("Batch {}: its workflow runs; recorded it as started", row.id());
        settled++;
      } else if (metadata.failUnstarted(
          row.tenant(),
          row.id(),
          new BatchError(
              CODE,
              "The gateway stopped before this batch's workflow started, so none of it ran. "
                  + "Create the batch again.",
              null,
              null),
          now)) {
        failed.inc();
        log.warn("Batch {}: its workflow never started; marked it failed", row.id());
        settled++;
      }
    }
    return settled;
  }
}
