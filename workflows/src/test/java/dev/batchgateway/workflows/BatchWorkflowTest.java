package dev.batchgateway.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.TestWorkflowExtension;
import io.temporal.worker.Worker;
import java.util.List;
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
  void deadlineExpiresTheBatch(TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.chunkMode = FakeActivities.ChunkMode.FAIL_RETRYABLY;

    BatchOutcome outcome = stub(client, worker).run(input(env, 60, 1));

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
