package dev.batchgateway.workflows.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.api.common.v1.WorkflowExecution;
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
 * Guards the running capacity probes against non-deterministic changes: every history in {@code
 * src/test/resources/histories/capacity-probe} must replay on the current code. Each run records a
 * fresh one (a probe, a pin that restarts it, continue-as-new) into {@code
 * target/histories/capacity-probe}; after a deliberate, versioned change, copy it next to the old.
 */
class CapacityProbeReplayTest {

  @Test
  void committedHistoriesReplayOnCurrentCode() throws Exception {
    List<Path> histories = committedHistories();
    assertThat(histories).isNotEmpty();
    for (Path history : histories) {
      WorkflowReplayer.replayWorkflowExecution(
          WorkflowExecutionHistory.fromJson(Files.readString(history)),
          CapacityProbeWorkflowImpl.class);
    }
  }

  @Test
  void freshHistoryReplaysAndIsKeptForTheNextChange() throws Exception {
    Path out = Path.of("target", "histories", "capacity-probe");
    Files.createDirectories(out);
    WorkflowExecutionHistory history = record();
    WorkflowReplayer.replayWorkflowExecution(history, CapacityProbeWorkflowImpl.class);
    Files.writeString(out.resolve("pinned-then-continued.json"), history.toJson(true));
  }

  private static List<Path> committedHistories() throws IOException, URISyntaxException {
    Path dir =
        Path.of(CapacityProbeReplayTest.class.getResource("/histories/capacity-probe").toURI());
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(path -> path.toString().endsWith(".json")).sorted().toList();
    }
  }

  private static WorkflowExecutionHistory record() throws Exception {
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = env.newWorker("capacity-replay");
      FakeProbeActivities probes = new FakeProbeActivities();
      worker.registerWorkflowImplementationTypes(CapacityProbeWorkflowImpl.class);
      worker.registerActivitiesImplementations(probes);
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      CapacityProbeWorkflow workflow =
          client.newWorkflowStub(
              CapacityProbeWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId(CapacityProbeWorkflow.workflowId("replay"))
                  .setTaskQueue("capacity-replay")
                  .build());
      WorkflowExecution run =
          WorkflowClient.start(
              workflow::run,
              new ProbeInput(
                  CapacityProbeWorkflowTest.SPEC, Steering.NONE, ControllerState.INITIAL, 3));
      probes.awaitRequest(1);
      workflow.pin(new PinRequest(8));
      probes.awaitRequest(2);
      workflow.pause();
      probes.awaitRequest(3);
      // The third probe now returns on its own, and the workflow continues as new.
      probes.blockUntilCancelled = false;
      probes.awaitRequest(5);
      return client.fetchHistory(run.getWorkflowId(), run.getRunId());
    }
  }
}
