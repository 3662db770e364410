package dev.batchgateway.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.TestWorkflowExtension;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Reprioritize any number of times, each a real change made the way the REST API makes it: the
 * batch continues as new whenever its history is long, every run stays bounded, and the batch
 * completes with every chunk run once.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ReprioritizeHistoryTest {
  private static final int CHANGES = 10_000;

  /** A run may pass the limit by what arrives while its chunks acknowledge their cancel. */
  private static final int MOST_EVENTS_PER_RUN = 2 * BatchWorkflowImpl.HISTORY_LIMIT;

  /** Chunks see a cancel with their next heartbeat; send those often so moves are quick. */
  @RegisterExtension
  static final TestWorkflowExtension temporal =
      BatchWorkflowTest.withSearchAttributes(TestWorkflowExtension.newBuilder())
          .setWorkerOptions(
              WorkerOptions.newBuilder()
                  .setMaxHeartbeatThrottleInterval(Duration.ofMillis(50))
                  .build())
          .setDoNotStart(true)
          .build();

  private FakeActivities activities;

  @BeforeEach
  void registerFakes(TestWorkflowEnvironment env, Worker worker) {
    activities = new FakeActivities();
    worker.registerWorkflowImplementationTypes(BatchWorkflowImpl.class);
    worker.registerActivitiesImplementations(activities);
    env.newWorker(TaskQueues.LIFECYCLE).registerActivitiesImplementations(activities);
    env.start();
  }

  @Test
  void tenThousandAlternatingChangesKeepEveryRunShortAndTheBatchCompletes(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 400, 4, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.GATED;
    BatchWorkflow workflow =
        client.newWorkflowStub(
            BatchWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId("batch_reprioritized")
                .setTaskQueue(worker.getTaskQueue())
                .build());
    long deadline = env.currentTimeMillis() / 1000 + 86_400;
    WorkflowExecution first =
        WorkflowClient.start(
            workflow::run,
            new BatchInput(
                "batch_reprioritized",
                "tenant-a",
                "/v1/chat/completions",
                "file-in",
                deadline,
                0,
                2,
                true));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();
    // Signals go to the batch's current run, as the API's do: a stub bound to the first run finds
    // it gone once it has continued as new.
    BatchWorkflow current = client.newWorkflowStub(BatchWorkflow.class, "batch_reprioritized");

    for (int i = 0; i < CHANGES; i++) {
      // As POST /v1/batches/{id}/priority does: signal, then wait until the row shows it.
      reprioritize(current, i % 2 == 0 ? 7 : 8);
      assertThat(activities.priorityRecorded.tryAcquire(30, TimeUnit.SECONDS))
          .as("change %d recorded", i)
          .isTrue();
    }
    activities.chunkGate.countDown();
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_reprioritized").getResult(BatchOutcome.class);

    assertThat(outcome.status()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(outcome.counts().total()).isEqualTo(400);
    List<Integer> runLengths = runLengths(client, first);
    assertThat(runLengths).as("events per run").hasSizeGreaterThan(1);
    assertThat(runLengths)
        .as("events per run: %s", runLengths)
        .allMatch(length -> length <= MOST_EVENTS_PER_RUN);
    assertThat(activities.chunksSucceeded).containsExactlyInAnyOrder(0, 1, 2, 3);
    assertThat(activities.priorities).last().isEqualTo(8);
    assertThat(activities.priorities).hasSize(CHANGES);
    assertThat(activities.finalizations).hasSize(1);
  }

  @Test
  void aRunThatMovesCarriesFailedChunksAndTheBatchEndsFailed(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    activities.plan = new PlanResult(true, 400, 4, "model-a");
    activities.chunkMode = FakeActivities.ChunkMode.GATED;
    activities.brokenChunks = Set.of(0);
    BatchWorkflow workflow =
        client.newWorkflowStub(
            BatchWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId("batch_moved")
                .setTaskQueue(worker.getTaskQueue())
                .build());
    WorkflowExecution first =
        WorkflowClient.start(
            workflow::run,
            new BatchInput(
                "batch_moved",
                "tenant-a",
                "/v1/chat/completions",
                "file-in",
                env.currentTimeMillis() / 1000 + 86_400,
                0,
                2,
                true));
    assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();
    // The current run, whichever it is: the run may continue as new between the check and the
    // signal, and a stub bound to the first run then finds no workflow (CI saw it once).
    BatchWorkflow current = client.newWorkflowStub(BatchWorkflow.class, "batch_moved");

    int changes = 0;
    while (runLengths(client, first).size() == 1) {
      assertThat(changes).as("changes before the run moved").isLessThan(1_000);
      reprioritize(current, changes % 2 == 0 ? 7 : 8);
      assertThat(activities.priorityRecorded.tryAcquire(30, TimeUnit.SECONDS)).isTrue();
      changes++;
    }
    activities.chunkGate.countDown();
    BatchOutcome outcome =
        client.newUntypedWorkflowStub("batch_moved").getResult(BatchOutcome.class);

    assertThat(outcome.status()).isEqualTo(BatchStatus.FAILED);
    assertThat(activities.chunksSucceeded).containsExactlyInAnyOrder(1, 2, 3);
    FinalizeRequest finalize = activities.finalizations.get(0);
    assertThat(finalize.chunkCount()).isEqualTo(4);
    assertThat(finalize.totalLines()).isEqualTo(400);
    assertThat(finalize.failedChunks()).containsExactly(0);
    assertThat(finalize.problems()).extracting(BatchProblem::code).containsExactly("chunk_failed");
    assertThat(current.progress().priority()).isEqualTo(changes % 2 == 0 ? 8 : 7);
  }

  /**
   * Signals the batch's current run. While a run continues as new, Temporal's test server answers
   * NOT_FOUND ("Completed workflow") for a moment (2 of 10 runs here hit it; the real server hands
   * the signal to the new run): a signal it refused was not delivered, so it is sent again.
   */
  private static void reprioritize(BatchWorkflow current, int priority)
      throws InterruptedException {
    for (int attempt = 1; ; attempt++) {
      try {
        current.reprioritize(new ReprioritizeRequest(priority));
        return;
      } catch (WorkflowNotFoundException e) {
        if (attempt >= 100) {
          throw e;
        }
        Thread.sleep(20);
      }
    }
  }

  /** The number of events of each run, following continue-as-new from the first. */
  private static List<Integer> runLengths(WorkflowClient client, WorkflowExecution first) {
    List<Integer> lengths = new ArrayList<>();
    String runId = first.getRunId();
    while (runId != null) {
      List<HistoryEvent> events = client.fetchHistory(first.getWorkflowId(), runId).getEvents();
      lengths.add(events.size());
      HistoryEvent last = events.get(events.size() - 1);
      runId =
          last.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
              ? last.getWorkflowExecutionContinuedAsNewEventAttributes().getNewExecutionRunId()
              : null;
    }
    return lengths;
  }
}
