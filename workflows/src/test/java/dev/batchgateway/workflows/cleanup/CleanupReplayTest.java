package dev.batchgateway.workflows.cleanup;

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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Guards cleanup passes that are running during a deploy: every history in {@code
 * src/test/resources/histories/cleanup} must replay on the current code. Each run records a fresh
 * one (paged steps) into {@code target/histories/cleanup}; after a deliberate, versioned change,
 * copy it next to the old.
 */
class CleanupReplayTest {

  @Test
  void committedHistoriesReplayOnCurrentCode() throws Exception {
    List<Path> histories = committedHistories();
    assertThat(histories).isNotEmpty();
    for (Path history : histories) {
      WorkflowReplayer.replayWorkflowExecution(
          WorkflowExecutionHistory.fromJson(Files.readString(history)), CleanupWorkflowImpl.class);
    }
  }

  @Test
  void freshHistoryReplaysAndIsKeptForTheNextChange() throws Exception {
    Path out = Path.of("target", "histories", "cleanup");
    Files.createDirectories(out);
    WorkflowExecutionHistory history = record();
    WorkflowReplayer.replayWorkflowExecution(history, CleanupWorkflowImpl.class);
    Files.writeString(out.resolve("paged-pass.json"), history.toJson(true));
  }

  private static List<Path> committedHistories() throws IOException, URISyntaxException {
    Path dir = Path.of(CleanupReplayTest.class.getResource("/histories/cleanup").toURI());
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(path -> path.toString().endsWith(".json")).sorted().toList();
    }
  }

  private static WorkflowExecutionHistory record() {
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = env.newWorker("cleanup-replay");
      CleanupWorkflowTest.Scripted activities = new CleanupWorkflowTest.Scripted();
      activities.expire.addAll(List.of(new CleanupCount(2, true), new CleanupCount(1, false)));
      activities.purge.addAll(List.of(new CleanupCount(2, true), new CleanupCount(1, false)));
      activities.work.add(new CleanupCount(1, false));
      activities.batches.addAll(List.of(new CleanupCount(2, true), new CleanupCount(2, true)));
      worker.registerWorkflowImplementationTypes(CleanupWorkflowImpl.class);
      worker.registerActivitiesImplementations(activities);
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      CleanupWorkflow workflow =
          client.newWorkflowStub(
              CleanupWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId("cleanup-replay")
                  .setTaskQueue("cleanup-replay")
                  .build());
      CleanupReport report = workflow.run(new CleanupRequest(2, 2, 86_400, 3600));
      assertThat(report.finished()).as("the batch step used its budget").isFalse();
      return client.fetchHistory("cleanup-replay");
    }
  }
}
