package dev.batchgateway.workflows;

import io.temporal.activity.Activity;
import io.temporal.client.ActivityCanceledException;
import io.temporal.failure.ApplicationFailure;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Scripted activities for workflow tests: they record what the workflow asked for and behave as
 * each test needs, without any storage.
 */
final class FakeActivities implements BatchLifecycleActivities, ChunkActivities {
  enum ChunkMode {
    SUCCEED,
    BLOCK_UNTIL_CANCELLED,
    FAIL_RETRYABLY
  }

  final List<BatchStatus> statuses = new CopyOnWriteArrayList<>();
  final List<Integer> priorities = new CopyOnWriteArrayList<>();
  final List<ChunkTask> chunkTasks = new CopyOnWriteArrayList<>();
  final List<FinalizeRequest> finalizations = new CopyOnWriteArrayList<>();
  final CountDownLatch chunkStarted = new CountDownLatch(1);
  volatile PlanResult plan = new PlanResult(true, 10, 3, "model-a");
  volatile ChunkMode chunkMode = ChunkMode.SUCCEED;
  final CountDownLatch planStarted = new CountDownLatch(1);
  volatile CountDownLatch planGate = new CountDownLatch(0);

  @Override
  public PlanResult plan(PlanRequest request) {
    planStarted.countDown();
    try {
      planGate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Activity.wrap(e);
    }
    return plan;
  }

  @Override
  public void recordStatus(StatusChange change) {
    statuses.add(change.status());
  }

  @Override
  public void recordPriority(PriorityChange change) {
    priorities.add(change.priority());
  }

  @Override
  public FinalizeResult finalizeBatch(FinalizeRequest request) {
    finalizations.add(request);
    return new FinalizeResult(
        new RequestCounts(request.totalLines(), request.totalLines(), 0), "file-out", null);
  }

  @Override
  public ChunkOutcome runChunk(ChunkTask task) {
    chunkTasks.add(task);
    chunkStarted.countDown();
    switch (chunkMode) {
      case SUCCEED -> {
        return new ChunkOutcome(task.chunkIndex(), 1, 0);
      }
      case FAIL_RETRYABLY -> throw ApplicationFailure.newFailure("backend down", "TEST");
      default -> {
        while (true) {
          try {
            Activity.getExecutionContext().heartbeat(null);
            TimeUnit.MILLISECONDS.sleep(50);
          } catch (ActivityCanceledException e) {
            throw e;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Activity.wrap(e);
          }
        }
      }
    }
  }
}
