package dev.batchgateway.activities;

import dev.batchgateway.activities.chunk.ChunkControl;
import dev.batchgateway.activities.chunk.ChunkDrainedException;
import dev.batchgateway.activities.chunk.ChunkRunner;
import dev.batchgateway.activities.chunk.ChunkStoppedException;
import dev.batchgateway.activities.chunk.WorkerDrain;
import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.activities.model.BatchControl;
import dev.batchgateway.activities.port.MetadataStore;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.ChunkActivities;
import dev.batchgateway.workflows.ChunkOutcome;
import dev.batchgateway.workflows.ChunkTask;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCompletionException;
import io.temporal.client.ActivityWorkerShutdownException;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class ChunkActivitiesImpl implements ChunkActivities {
  private static final Logger log = LoggerFactory.getLogger(ChunkActivitiesImpl.class);

  /** Failure type of a chunk handed back because its worker is shutting down; retried. */
  public static final String WORKER_SHUTTING_DOWN = "WorkerShuttingDown";

  /** How often a chunk asks whether its batch was stopped. */
  private static final Duration STOP_CHECK_INTERVAL = Duration.ofSeconds(1);

  private final ChunkRunner runner;
  private final MetadataStore metadata;
  private final Clock clock;
  private final WorkerDrain drain;

  public ChunkActivitiesImpl(ChunkRunner runner, MetadataStore metadata, Clock clock) {
    this(runner, metadata, clock, new WorkerDrain());
  }

  /** {@code drain} tells running chunks that this worker is shutting down. */
  public ChunkActivitiesImpl(
      ChunkRunner runner, MetadataStore metadata, Clock clock, WorkerDrain drain) {
    this.runner = runner;
    this.metadata = metadata;
    this.clock = clock;
    this.drain = drain;
  }

  @Override
  public ChunkOutcome runChunk(ChunkTask task) {
    TemporalChunkControl control = new TemporalChunkControl(Activity.getExecutionContext(), task);
    drain.enter();
    try (LogContext.Scope ignored = LogContext.forBatch(task.batchId(), task.tenant())) {
      return runner.run(task, control);
    } catch (ChunkStoppedException e) {
      if (control.completion != null) {
        throw control.completion;
      }
      return new ChunkOutcome(task.chunkIndex(), 0, 0);
    } catch (ChunkDrainedException e) {
      // Retryable: the next attempt, on a worker that is not shutting down, resumes from the
      // segments this one saved.
      throw ApplicationFailure.newFailure(e.getMessage(), WORKER_SHUTTING_DOWN);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Activity.wrap(e);
    } finally {
      drain.exit();
    }
  }

  /**
   * Heartbeats carry the checkpoint and bring back Temporal's cancel request. The batch row is read
   * too, because a cancel shows there within a second while a heartbeat answer can lag by most of
   * the heartbeat timeout; the same read brings the batch's current priority and pace to the permit
   * requests, so a reprioritize reaches running chunks within about a second.
   */
  private final class TemporalChunkControl implements ChunkControl {
    private final ActivityExecutionContext context;
    private final ChunkTask task;
    private ChunkCheckpoint last = new ChunkCheckpoint(0, 0);
    private long nextCheckMillis;
    private volatile boolean stopped;
    private volatile BatchControl latest;
    private ActivityCompletionException completion;

    /** Temporal said this worker is shutting down; heartbeats are no longer sent. */
    private volatile boolean workerShutdown;

    TemporalChunkControl(ActivityExecutionContext context, ChunkTask task) {
      this.context = context;
      this.task = task;
    }

    @Override
    public void checkpoint(int segmentsDone, long linesDone) {
      last = new ChunkCheckpoint(segmentsDone, linesDone);
      heartbeat();
    }

    @Override
    public boolean stopRequested() {
      if (stopped) {
        return true;
      }
      long now = clock.millis();
      if (now < nextCheckMillis) {
        return false;
      }
      nextCheckMillis = now + STOP_CHECK_INTERVAL.toMillis();
      heartbeat();
      if (!stopped) {
        Optional<BatchControl> read;
        try {
          read = metadata.batchControl(task.tenant(), task.batchId());
        } catch (RuntimeException e) {
          // The database is down: the heartbeat still brings a cancel, so the chunk carries on.
          log.debug(
              "Chunk {} of batch {} cannot read its batch: {}",
              task.chunkIndex(),
              task.batchId(),
              e.toString());
          return false;
        }
        read.ifPresent(control -> latest = control);
        BatchStatus status = read.map(BatchControl::status).orElse(BatchStatus.CANCELLED);
        stopped = status == BatchStatus.CANCELLING || status.isTerminal();
      }
      return stopped;
    }

    @Override
    public Optional<BatchControl> latest() {
      return Optional.ofNullable(latest);
    }

    @Override
    public boolean draining() {
      return drain.draining() || workerShutdown;
    }

    @Override
    public boolean drainGraceOver() {
      return drain.graceOver();
    }

    private void heartbeat() {
      if (workerShutdown) {
        return;
      }
      try {
        context.heartbeat(last);
      } catch (ActivityWorkerShutdownException e) {
        // Not a stop of the batch: the worker drains, and the chunk hands its lines back.
        workerShutdown = true;
      } catch (ActivityCompletionException e) {
        completion = e;
        stopped = true;
      }
    }
  }
}
