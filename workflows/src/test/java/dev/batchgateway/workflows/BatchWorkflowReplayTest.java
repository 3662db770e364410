package dev.batchgateway.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.WorkflowReplayer;
import io.temporal.worker.Worker;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Guards running batches against non-deterministic workflow changes: every history recorded in
 * {@code src/test/resources/histories} must replay on the current code. Each run also records fresh
 * histories into {@code target/histories}; after a deliberate, versioned change, copy them next to
 * the old ones. Files without a suffix predate every version marker; {@code -v1} files were
 * recorded with {@link BatchWorkflowImpl#LIFECYCLE_QUEUE_CHANGE} at version 1, {@code -v2} files
 * also with {@link BatchWorkflowImpl#EVERY_BATCH_ENDS} at version 1, {@code -v3} files also with
 * {@link BatchWorkflowImpl#BOUNDED_HISTORY} at version 1, {@code -v4} files also with {@link
 * BatchWorkflowImpl#ANSWERED_BATCH_COMPLETES} at version 1.
 */
class BatchWorkflowReplayTest {

  @Test
  void committedHistoriesReplayOnCurrentCode() throws Exception {
    List<Path> histories = committedHistories();
    assertThat(histories).isNotEmpty();
    for (Path history : histories) {
      WorkflowReplayer.replayWorkflowExecution(
          WorkflowExecutionHistory.fromJson(Files.readString(history)), BatchWorkflowImpl.class);
    }
  }

  @Test
  void freshHistoriesReplayAndAreKeptForTheNextChange() throws Exception {
    Path out = Path.of("target", "histories");
    Files.createDirectories(out);
    for (String scenario :
        List.of(
            "completed",
            "cancelled",
            "failed",
            "planning-failed",
            "chunk-failed",
            "salvaged",
            "resumed",
            "answered-at-deadline")) {
      WorkflowExecutionHistory history = record(scenario);
      WorkflowReplayer.replayWorkflowExecution(history, BatchWorkflowImpl.class);
      Files.writeString(out.resolve(scenario + ".json"), history.toJson(true));
    }
  }

  private static List<Path> committedHistories() throws IOException, URISyntaxException {
    Path dir = Path.of(BatchWorkflowReplayTest.class.getResource("/histories").toURI());
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(path -> path.toString().endsWith(".json")).sorted().toList();
    }
  }

  private static WorkflowExecutionHistory record(String scenario) throws Exception {
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      for (var key : BatchSearchAttributes.ALL) {
        env.registerSearchAttribute(key.getName(), key.getValueType());
      }
      Worker worker = env.newWorker(TaskQueues.BATCH);
      FakeActivities activities = new FakeActivities();
      worker.registerWorkflowImplementationTypes(BatchWorkflowImpl.class);
      worker.registerActivitiesImplementations(activities);
      env.newWorker(TaskQueues.LIFECYCLE).registerActivitiesImplementations(activities);
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      String id = "batch_replay_" + scenario;
      BatchWorkflow workflow =
          client.newWorkflowStub(
              BatchWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId(id)
                  .setTaskQueue(TaskQueues.BATCH)
                  .build());
      long deadline = env.currentTimeMillis() / 1000 + 86_400;
      BatchInput input =
          new BatchInput(id, "tenant-a", "/v1/chat/completions", "file-in", deadline, 0, 2, true);
      switch (scenario) {
        case "failed" -> {
          activities.plan = new PlanResult(false, 3, 0, null);
          workflow.run(input);
        }
        case "planning-failed" -> {
          activities.planFails = true;
          workflow.run(input);
        }
        case "chunk-failed" -> {
          activities.chunkMode = FakeActivities.ChunkMode.FAIL_FOR_GOOD;
          workflow.run(input);
        }
        case "resumed" ->
            workflow.run(
                input.continuedWith(
                    5, new BatchResume(10, 3, "model-a", List.of(2, 1), List.of(), 1, 4, 0)));
        case "answered-at-deadline" -> {
          // The window runs out while the chunks, every line answered, are still running.
          activities.plan = new PlanResult(true, 3, 3, "model-a");
          activities.chunkMode = FakeActivities.ChunkMode.ANSWERED_THEN_CANCELLED;
          workflow.run(
              new BatchInput(
                  id,
                  "tenant-a",
                  "/v1/chat/completions",
                  "file-in",
                  env.currentTimeMillis() / 1000 + 8,
                  0,
                  3,
                  true));
        }
        case "salvaged" -> {
          activities.finalizeFails = true;
          workflow.run(input);
        }
        case "cancelled" -> {
          activities.chunkMode = FakeActivities.ChunkMode.BLOCK_UNTIL_CANCELLED;
          WorkflowClient.start(workflow::run, input);
          assertThat(activities.chunkStarted.await(30, TimeUnit.SECONDS)).isTrue();
          workflow.reprioritize(new ReprioritizeRequest(3));
          workflow.cancel(new CancelRequest("replay"));
          client.newUntypedWorkflowStub(id).getResult(BatchOutcome.class);
        }
        default -> workflow.run(input);
      }
      return client.fetchHistory(id);
    }
  }
}
