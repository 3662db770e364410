package dev.batchgateway.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.TestWorkflowExtension;
import io.temporal.worker.Worker;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@org.junit.jupiter.api.Timeout(value = 120, unit = TimeUnit.SECONDS)
class BatchWorkflowTest {
  private static final long HOUR = 3600;

  @RegisterExtension
  static final TestWorkflowExtension temporal =
      withSearchAttributes(TestWorkflowExtension.newBuilder()).setDoNotStart(true).build();

  static TestWorkflowExtension.Builder withSearchAttributes(TestWorkflowExtension.Builder builder) {
    for (var key : BatchSearchAttributes.ALL) {
      builder.registerSearchAttribute(key.getName(), key.getValueType());
    }
    return builder;
  }

  private FakeActivities activities;

  @BeforeEach
  void registerFakes(TestWorkflowEnvironment env, Worker worker) {
    activities = new FakeActivities();
    worker.registerWorkflowImplementationTypes(BatchWorkflowImpl.class);
    worker.registerActivitiesImplementations(activities);
    env.newWorker(TaskQueues.LIFECYCLE).registerActivitiesImplementations(activities);
    env.start();
  }

  private static BatchInput input(TestWorkflowEnvironment env, long windowSeconds, int parallel) {
    long now = env.currentTimeMillis() / 1000;
    return new BatchInput(
        "batch_test",
        "tenant-a",
        "/v1/chat/completions",
        "file-in",
        now + windowSeconds,
        2,
        parallel,
        true);
  }

  private static BatchWorkflow stub(WorkflowClient client, Worker worker) {
    return client.newWorkflowStub(
        BatchWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId("batch_test")
            .setTaskQueue(worker.getTaskQueue())
            .build());
  }

  @Test
  void runsEveryChunkThenFinalizesAsCompleted(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.plan = new PlanResult(true, 1200, 3, "model-a");

    BatchOutcome outcome = stub(client, worker).run(input(env, 24 * HOUR, 2));

    assertThat(outcome.status()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(activities.statuses)
        .containsExactly(BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING);
    assertThat(activities.chunkTasks)
        .extracting(ChunkTask::chunkIndex)
        .containsExactlyInAnyOrder(0, 1, 2);
    assertThat(activities.chunkTasks).allMatch(task -> task.priority() == 2);
    FinalizeRequest finalize = activities.finalizations.get(0);
    assertThat(finalize.status()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(finalize.chunkCount()).isEqualTo(3);
    assertThat(finalize.totalLines()).isEqualTo(1200);
    assertThat(finalize.failedChunks()).isEmpty();
  }

  @Test
  void invalidInputFailsWithoutRunningChunks(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.plan = new PlanResult(false, 5, 0, null);

    BatchOutcome outcome = stub(client, worker).run(input(env, 24 * HOUR, 2));

    assertThat(outcome.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(activities.statuses).containsExactly(BatchStatus.FAILED);
    assertThat(activities.chunkTasks).isEmpty();
    assertThat(activities.finalizations).isEmpty();
  }

  @Test
  void cancelSignalStopsRunningChunksAndFinalizesAsCancelled(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 5000, 10, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 3));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();

    workflow.cancel(new CancelRequest("test"));
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(outcome.status()).isEqualTo(BatchStatus.CANCELLED);
    assertThat(activities.statuses)
        .containsExactly(BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING);
    assertThat(activities.chunkTasks.size()).isLessThanOrEqualTo(3);
    assertThat(activities.finalizations.get(0).status()).isEqualTo(BatchStatus.CANCELLED);
    assertThat(activities.finalizations.get(0).totalLines()).isEqualTo(5000);
  }

  @Test
  void cancelWhileValidatingIsRecordedAtOnceAndEveryLineIsReportedCancelled(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 700, 2, "model-a");
    activities.planGate = new java.util.concurrent.CountDownLatch(1);
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 2));
    assertThat(activities.planStarted.await(30, TimeUnit.SECONDS)).isTrue();

    workflow.cancel(new CancelRequest("while validating"));
    for (int i = 0; i < 100 && activities.statuses.isEmpty(); i++) {
      Thread.sleep(50);
    }
    List<BatchStatus> whilePlanning = List.copyOf(activities.statuses);
    activities.planGate.countDown();
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(whilePlanning).containsExactly(BatchStatus.CANCELLING);
    assertThat(outcome.status()).isEqualTo(BatchStatus.CANCELLED);
    assertThat(activities.chunkTasks).isEmpty();
    FinalizeRequest finalize = activities.finalizations.get(0);
    assertThat(finalize.status()).isEqualTo(BatchStatus.CANCELLED);
    assertThat(finalize.chunkCount()).isEqualTo(2);
    assertThat(finalize.totalLines()).isEqualTo(700);
  }

  @Test
  void planningThatFailsForGoodFailsTheBatchWithErrors(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.planFails = true;

    BatchOutcome outcome = stub(client, worker).run(input(env, 24 * HOUR, 2));

    assertThat(outcome.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(activities.failures).hasSize(1);
    BatchFailure failure = activities.failures.get(0);
    assertThat(failure.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(failure.problems())
        .extracting(BatchProblem::code)
        .containsExactly("planning_failed");
    assertThat(failure.problems().get(0).message()).contains("TEST_PLAN");
    assertThat(activities.finalizations).isEmpty();
  }

  @Test
  void cancelWhileValidatingThenAPlanningFailureEndsCancelledWithErrors(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.planFails = true;
    activities.planGate = new CountDownLatch(1);
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 2));
    assertThat(activities.planStarted.await(30, TimeUnit.SECONDS)).isTrue();

    workflow.cancel(new CancelRequest("while validating"));
    for (int i = 0; i < 100 && activities.statuses.isEmpty(); i++) {
      Thread.sleep(50);
    }
    activities.planGate.countDown();
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(outcome.status()).isEqualTo(BatchStatus.CANCELLED);
    assertThat(activities.statuses).containsExactly(BatchStatus.CANCELLING);
    assertThat(activities.failures)
        .singleElement()
        .satisfies(
            failure -> {
              assertThat(failure.status()).isEqualTo(BatchStatus.CANCELLED);
              assertThat(failure.problems())
                  .extracting(BatchProblem::code)
                  .containsExactly("planning_failed");
            });
  }

  @Test
  void aChunkThatGivesUpFailsTheBatchWithErrorsAndFilesForTheRest(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.plan = new PlanResult(true, 1200, 3, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.FAIL_FOR_GOOD;

    BatchOutcome outcome = stub(client, worker).run(input(env, 24 * HOUR, 1));

    assertThat(outcome.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(activities.statuses)
        .containsExactly(BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING);
    FinalizeRequest finalize = activities.finalizations.get(0);
    assertThat(finalize.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(finalize.failedChunks()).containsExactlyInAnyOrder(0, 1, 2);
    assertThat(finalize.problems()).extracting(BatchProblem::code).containsExactly("chunk_failed");
    assertThat(finalize.problems().get(0).message()).startsWith("3 of 3 chunks");
  }

  @Test
  void aFinalizeThatFailsForGoodIsSalvagedAndTheBatchFails(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.plan = new PlanResult(true, 1200, 3, "model-a");
    activities.finalizeFails = true;

    BatchOutcome outcome = stub(client, worker).run(input(env, 24 * HOUR, 2));

    assertThat(outcome.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(outcome.counts().total()).isEqualTo(1200);
    assertThat(activities.statuses)
        .containsExactly(BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING);
    assertThat(activities.finalizations)
        .extracting(FinalizeRequest::salvage)
        .containsExactly(false, true);
    FinalizeRequest salvage = activities.finalizations.get(1);
    assertThat(salvage.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(salvage.chunkCount()).isEqualTo(3);
    assertThat(salvage.problems())
        .extracting(BatchProblem::code)
        .containsExactly("finalize_failed");
    assertThat(salvage.problems().get(0).message()).contains("corrupt_checkpoint");
    assertThat(activities.failures).isEmpty();
  }

  @Test
  void aCancelledBatchWhoseFinalizeFailsIsSalvagedAsCancelled(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 5000, 10, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;
    activities.finalizeFails = true;
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 3));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();

    workflow.cancel(new CancelRequest("test"));
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(outcome.status()).isEqualTo(BatchStatus.CANCELLED);
    assertThat(activities.finalizations.get(1).salvage()).isTrue();
    assertThat(activities.finalizations.get(1).status()).isEqualTo(BatchStatus.CANCELLED);
  }

  @Test
  void whenTheSalvageFailsTooTheBatchEndsWithoutFiles(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.finalizeFails = true;
    activities.salvageFails = true;

    BatchOutcome outcome = stub(client, worker).run(input(env, 24 * HOUR, 2));

    assertThat(outcome.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(activities.finalizations).hasSize(2);
    assertThat(activities.failures)
        .singleElement()
        .satisfies(
            failure -> {
              assertThat(failure.status()).isEqualTo(BatchStatus.FAILED);
              assertThat(failure.problems())
                  .extracting(BatchProblem::code)
                  .containsExactly("finalize_failed");
            });
  }

  @Test
  void deadlineExpiresTheBatch(TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.chunkMode = FakeActivities.ChunkMode.FAIL_RETRYABLY;

    BatchOutcome outcome = stub(client, worker).run(input(env, 60, 1));

    assertThat(outcome.status()).isEqualTo(BatchStatus.EXPIRED);
    assertThat(activities.statuses).containsExactly(BatchStatus.IN_PROGRESS);
    assertThat(activities.finalizations.get(0).status()).isEqualTo(BatchStatus.EXPIRED);
  }

  /**
   * Runs a batch with an eight-second window (room for its chunks to start on a busy machine) until
   * its deadline has passed: the deadline timer fires in real time while an activity runs (time
   * skipping is off then). Answers its outcome.
   */
  private BatchOutcome runPastTheDeadline(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker, CountDownLatch reached)
      throws Exception {
    BatchInput input = input(env, 8, 3);
    WorkflowClient.start(stub(client, worker)::run, input);
    assertThat(reached.await(30, TimeUnit.SECONDS)).isTrue();
    while (env.currentTimeMillis() < input.expiresAtEpochSeconds() * 1000 + 500) {
      Thread.sleep(100);
    }
    activities.finalizeGate.countDown();
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);
    assertThat(client.fetchHistory("batch_test").getEvents())
        .as("the deadline timer fired")
        .extracting(HistoryEvent::getEventType)
        .contains(EventType.EVENT_TYPE_TIMER_FIRED);
    return outcome;
  }

  @Test
  void aBatchWhoseChunksAllFinishedCompletesThoughItsFinalizeRunsPastTheDeadline(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 3, 3, "model-a");
    activities.finalizeGate = new CountDownLatch(1);

    BatchOutcome outcome = runPastTheDeadline(env, client, worker, activities.finalizeStarted);

    assertThat(outcome.status()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(activities.finalizations).hasSize(1);
    assertThat(activities.finalizations.get(0).status()).isEqualTo(BatchStatus.COMPLETED);
  }

  @Test
  void aBatchWhoseLinesAllHaveAnswersCompletesThoughAChunkWasStillRunningAtTheDeadline(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 3, 3, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.ANSWERED_THEN_CANCELLED;

    BatchOutcome outcome = runPastTheDeadline(env, client, worker, activities.chunkStarted);

    assertThat(activities.chunkCancelled.getCount())
        .as("the deadline cancelled the chunks")
        .isZero();
    assertThat(outcome.status()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(activities.statuses)
        .containsExactly(BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING);
    assertThat(activities.finalizations.get(0).status()).isEqualTo(BatchStatus.COMPLETED);
  }

  @Test
  void aBatchWhoseChunksHaveNotFinishedAtTheDeadlineExpires(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 3, 3, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;

    BatchOutcome outcome = runPastTheDeadline(env, client, worker, activities.chunkStarted);

    assertThat(outcome.status()).isEqualTo(BatchStatus.EXPIRED);
    assertThat(activities.statuses).containsExactly(BatchStatus.IN_PROGRESS);
    assertThat(activities.finalizations.get(0).status()).isEqualTo(BatchStatus.EXPIRED);
  }

  @Test
  void reprioritizeChangesLaterChunksAndIsRecorded(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 100, 4, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 1));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();

    workflow.reprioritize(new ReprioritizeRequest(7));
    BatchProgress progress = awaitPriority(workflow, 7);
    workflow.cancel(new CancelRequest("done"));
    client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(progress.priority()).isEqualTo(7);
    assertThat(activities.priorities).containsExactly(7);
  }

  @Test
  void progressQueryReportsChunks(TestWorkflowEnvironment env, WorkflowClient client, Worker worker)
      throws Exception {
    activities.plan = new PlanResult(true, 100, 4, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 2));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();

    BatchProgress progress = workflow.progress();
    workflow.cancel(new CancelRequest("done"));
    client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(progress.status()).isEqualTo(BatchStatus.IN_PROGRESS);
    assertThat(progress.chunksTotal()).isEqualTo(4);
    assertThat(progress.chunksRunning()).isEqualTo(2);
  }

  @Test
  void lifecycleActivitiesRunOnTheirOwnQueueAndChunksOnTheWorkflowQueue(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.plan = new PlanResult(true, 1200, 3, "model-a");

    stub(client, worker).run(input(env, 24 * HOUR, 2));

    assertThat(activities.lifecycleQueues).hasSize(4).containsOnly(TaskQueues.LIFECYCLE);
    assertThat(activities.chunkQueues).hasSize(3).containsOnly(worker.getTaskQueue());
  }

  @Test
  void cancelReachesRunningChunksBeforeTheStatusWriteFinishes(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 5000, 10, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;
    activities.cancellingGate = new CountDownLatch(1);
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 3));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();

    workflow.cancel(new CancelRequest("test"));
    boolean chunkSawCancelWhileStatusBlocked =
        activities.chunkCancelled.await(30, TimeUnit.SECONDS);
    activities.cancellingGate.countDown();
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(chunkSawCancelWhileStatusBlocked).isTrue();
    assertThat(outcome.status()).isEqualTo(BatchStatus.CANCELLED);
    assertThat(activities.statuses)
        .containsExactly(BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING);
  }

  @Test
  void repeatedEqualReprioritizeAddsNoCommandsBeyondTheFirst(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 100, 4, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;
    BatchWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, input(env, 24 * HOUR, 1));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();

    workflow.reprioritize(new ReprioritizeRequest(7));
    awaitPriority(workflow, 7);
    awaitSignalsHandled(client, 1);
    List<EventType> afterFirst = commandEvents(client);
    for (int i = 0; i < 9; i++) {
      workflow.reprioritize(new ReprioritizeRequest(7));
    }
    awaitSignalsHandled(client, 10);
    List<EventType> afterTen = commandEvents(client);
    workflow.cancel(new CancelRequest("done"));
    client.newUntypedWorkflowStub("batch_test").getResult(BatchOutcome.class);

    assertThat(afterTen).isEqualTo(afterFirst);
    assertThat(activities.priorities).containsExactly(7);
  }

  /** History events other than signals and workflow tasks: what the workflow's commands made. */
  private static List<EventType> commandEvents(WorkflowClient client) {
    return client.fetchHistory("batch_test").getEvents().stream()
        .map(HistoryEvent::getEventType)
        .filter(
            type ->
                type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                    && !type.name().startsWith("EVENT_TYPE_WORKFLOW_TASK_"))
        .toList();
  }

  /** Waits until {@code count} signals are in history and a workflow task completed after them. */
  private static void awaitSignalsHandled(WorkflowClient client, int count)
      throws InterruptedException {
    for (int i = 0; i < 200; i++) {
      List<EventType> types =
          client.fetchHistory("batch_test").getEvents().stream()
              .map(HistoryEvent::getEventType)
              .toList();
      long signals =
          types.stream().filter(t -> t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).count();
      int lastSignal = types.lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
      int lastTaskDone = types.lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      if (signals >= count && lastTaskDone > lastSignal) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("signals not handled in time");
  }

  @Test
  void temporalPriorityKeysStayInRange() {
    assertThat(List.of(-10, 0, 1, 2, 10))
        .extracting(BatchWorkflowImpl::temporalPriorityKey)
        .containsExactly(5, 3, 2, 1, 1);
  }

  private static BatchProgress awaitPriority(BatchWorkflow workflow, int priority)
      throws InterruptedException {
    BatchProgress progress = workflow.progress();
    for (int i = 0; i < 100 && progress.priority() != priority; i++) {
      Thread.sleep(50);
      progress = workflow.progress();
    }
    return progress;
  }
}
