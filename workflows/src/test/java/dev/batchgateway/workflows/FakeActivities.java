package dev.batchgateway.workflows;

import io.temporal.activity.Activity;
import io.temporal.client.ActivityCanceledException;
import io.temporal.failure.ApplicationFailure;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Scripted activities for workflow tests: they record what the workflow asked for and behave as
 * each test needs, without any storage.
 */
final class FakeActivities implements BatchLifecycleActivities, ChunkActivities {
  enum ChunkMode {
    SUCCEED,
    BLOCK_UNTIL_CANCELLED,
    FAIL_RETRYABLY,
    FAIL_FOR_GOOD,
    /** Heartbeats until {@link #chunkGate} opens, then succeeds; a cancel ends it. */
    GATED,
    /**
     * Every line has its result, but the chunk is still saving them: it heartbeats until cancelled,
     * then reports its outcome, as a stopped chunk with nothing left to cut does.
     */
    ANSWERED_THEN_CANCELLED
  }

  final List<BatchStatus> statuses = new CopyOnWriteArrayList<>();

  /** Task queue of every lifecycle activity run, in order. */
  final List<String> lifecycleQueues = new CopyOnWriteArrayList<>();

  /** Task queue of every chunk run. */
  final List<String> chunkQueues = new CopyOnWriteArrayList<>();

  /** Counted down when a blocked chunk sees its cancel. */
  final CountDownLatch chunkCancelled = new CountDownLatch(1);

  /** Holds the write of {@code cancelling} until opened. */
  volatile CountDownLatch cancellingGate = new CountDownLatch(0);

  final List<Integer> priorities = new CopyOnWriteArrayList<>();

  /** Released once per recorded priority. */
  final Semaphore priorityRecorded = new Semaphore(0);

  final List<ChunkTask> chunkTasks = new CopyOnWriteArrayList<>();
  final List<FinalizeRequest> finalizations = new CopyOnWriteArrayList<>();
  final CountDownLatch chunkStarted = new CountDownLatch(1);
  final CountDownLatch chunkGate = new CountDownLatch(1);

  /** The index of every chunk run that succeeded. */
  final List<Integer> chunksSucceeded = new CopyOnWriteArrayList<>();

  volatile PlanResult plan = new PlanResult(true, 10, 3, "model-a");
  volatile ChunkMode chunkMode = ChunkMode.SUCCEED;

  /** Chunks that fail for good whatever {@link #chunkMode} says. */
  volatile Set<Integer> brokenChunks = Set.of();

  final CountDownLatch planStarted = new CountDownLatch(1);
  volatile CountDownLatch planGate = new CountDownLatch(0);

  /** Planning fails for good: the activity throws a non-retryable failure. */
  volatile boolean planFails;

  /** A normal finalize fails for good; a salvage finalize then fails too if set. */
  volatile boolean finalizeFails;

  volatile boolean salvageFails;

  /** Counted down when a finalize starts; the finalize then waits for {@link #finalizeGate}. */
  final CountDownLatch finalizeStarted = new CountDownLatch(1);

  volatile CountDownLatch finalizeGate = new CountDownLatch(0);

  /** Every last-resort end the workflow asked for. */
  final List<BatchFailure> failures = new CopyOnWriteArrayList<>();

  @Override
  public PlanResult plan(PlanRequest request) {
    noteQueue();
    planStarted.countDown();
    try {
      planGate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Activity.wrap(e);
    }
    if (planFails) {
      throw ApplicationFailure.newNonRetryableFailure("input unreadable", "TEST_PLAN");
    }
    return plan;
  }

  @Override
  public void recordStatus(StatusChange change) {
    noteQueue();
    if (change.status() == BatchStatus.CANCELLING) {
      await(cancellingGate);
    }
    statuses.add(change.status());
  }

  @Override
  public void recordPriority(PriorityChange change) {
    noteQueue();
    priorities.add(change.priority());
    priorityRecorded.release();
  }

  @Override
  public FinalizeResult finalizeBatch(FinalizeRequest request) {
    noteQueue();
    finalizations.add(request);
    finalizeStarted.countDown();
    await(finalizeGate);
    if (request.salvage() ? salvageFails : finalizeFails) {
      throw ApplicationFailure.newNonRetryableFailure("segment damaged", "corrupt_checkpoint");
    }
    return new FinalizeResult(
        new RequestCounts(request.totalLines(), request.totalLines(), 0), "file-out", null);
  }

  @Override
  public void failBatch(BatchFailure failure) {
    noteQueue();
    failures.add(failure);
  }

  @Override
  public ChunkOutcome runChunk(ChunkTask task) {
    chunkTasks.add(task);
    chunkQueues.add(Activity.getExecutionContext().getInfo().getActivityTaskQueue());
    chunkStarted.countDown();
    if (brokenChunks.contains(task.chunkIndex())) {
      throw ApplicationFailure.newNonRetryableFailure("chunk broken", "TEST_CHUNK");
    }
    switch (chunkMode) {
      case SUCCEED -> {
        chunksSucceeded.add(task.chunkIndex());
        return new ChunkOutcome(task.chunkIndex(), 1, 0);
      }
      case GATED -> {
        try {
          while (!chunkGate.await(20, TimeUnit.MILLISECONDS)) {
            Activity.getExecutionContext().heartbeat(null);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw Activity.wrap(e);
        }
        chunksSucceeded.add(task.chunkIndex());
        return new ChunkOutcome(task.chunkIndex(), 1, 0);
      }
      case ANSWERED_THEN_CANCELLED -> {
        while (true) {
          try {
            Activity.getExecutionContext().heartbeat(null);
            TimeUnit.MILLISECONDS.sleep(50);
          } catch (ActivityCanceledException e) {
            chunkCancelled.countDown();
            return new ChunkOutcome(task.chunkIndex(), 1, 0);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Activity.wrap(e);
          }
        }
      }
      case FAIL_RETRYABLY -> throw ApplicationFailure.newFailure("backend down", "TEST");
      case FAIL_FOR_GOOD ->
          throw ApplicationFailure.newNonRetryableFailure("chunk broken", "TEST_CHUNK");
      default -> {
        while (true) {
          try {
            Activity.getExecutionContext().heartbeat(null);
            TimeUnit.MILLISECONDS.sleep(50);
          } catch (ActivityCanceledException e) {
            chunkCancelled.countDown();
            throw e;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Activity.wrap(e);
          }
        }
      }
    }
  }

  private void noteQueue() {
    lifecycleQueues.add(Activity.getExecutionContext().getInfo().getActivityTaskQueue());
  }

  private static void await(CountDownLatch gate) {
    try {
      gate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Activity.wrap(e);
    }
  }
}
