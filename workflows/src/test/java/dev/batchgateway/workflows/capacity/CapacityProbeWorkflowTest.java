package dev.batchgateway.workflows.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.TestWorkflowExtension;
import io.temporal.worker.Worker;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CapacityProbeWorkflowTest {
  static final PoolProbeSpec SPEC =
      new PoolProbeSpec(
          "default", List.of("http://127.0.0.1:1/metrics"), 32, 1, 256, 2, 0.1, 200, 60_000);

  @RegisterExtension
  static final TestWorkflowExtension temporal =
      TestWorkflowExtension.newBuilder().setDoNotStart(true).build();

  private FakeProbeActivities probes;

  @BeforeEach
  void registerFakes(TestWorkflowEnvironment env, Worker worker) {
    probes = new FakeProbeActivities();
    worker.registerWorkflowImplementationTypes(CapacityProbeWorkflowImpl.class);
    worker.registerActivitiesImplementations(probes);
    env.start();
  }

  private static CapacityProbeWorkflow stub(WorkflowClient client, Worker worker) {
    return client.newWorkflowStub(
        CapacityProbeWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId(CapacityProbeWorkflow.workflowId("default"))
            .setTaskQueue(worker.getTaskQueue())
            .build());
  }

  @Test
  void pinRestartsTheProbeWithThePinAndKeepsTheControllerState(WorkflowClient client, Worker worker)
      throws Exception {
    CapacityProbeWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, ProbeInput.start(SPEC));
    ProbeRequest first = probes.awaitRequest(1);
    assertThat(first.steering()).isEqualTo(Steering.NONE);

    workflow.pin(new PinRequest(8));
    ProbeRequest second = probes.awaitRequest(2);

    assertThat(second.steering().pinnedPermits()).isEqualTo(8);
    assertThat(second.state().decisions()).as("the cancelled run's state").isEqualTo(1);
    assertThat(probes.cancelled.get()).isEqualTo(1);
    assertThat(workflow.state().steering().pinnedPermits()).isEqualTo(8);

    workflow.unpin();
    assertThat(probes.awaitRequest(3).steering()).isEqualTo(Steering.NONE);
  }

  @Test
  void pauseAndResumeEachRestartTheProbe(WorkflowClient client, Worker worker) throws Exception {
    CapacityProbeWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, ProbeInput.start(SPEC));
    probes.awaitRequest(1);

    workflow.pause();
    assertThat(probes.awaitRequest(2).steering().paused()).isTrue();
    workflow.resume();
    assertThat(probes.awaitRequest(3).steering().paused()).isFalse();
  }

  @Test
  void configureRestartsTheProbeWithTheNewSettings(WorkflowClient client, Worker worker)
      throws Exception {
    CapacityProbeWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, ProbeInput.start(SPEC));
    probes.awaitRequest(1);

    PoolProbeSpec faster =
        new PoolProbeSpec("default", SPEC.metricsUrls(), 16, 1, 64, 2, 0.1, 100, 30_000);
    workflow.configure(faster);
    workflow.configure(faster);

    ProbeRequest second = probes.awaitRequest(2);
    assertThat(second.spec()).isEqualTo(faster);
    assertThat(second.state().decisions()).as("same engines: the state is kept").isEqualTo(1);
    assertThat(workflow.state().spec()).isEqualTo(faster);
    assertThat(probes.requests).hasSize(2);
  }

  @Test
  void configuringOtherEnginesForgetsWhatWasLearned(WorkflowClient client, Worker worker)
      throws Exception {
    CapacityProbeWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, ProbeInput.start(SPEC));
    probes.awaitRequest(1);

    workflow.configure(
        new PoolProbeSpec(
            "default", List.of("http://127.0.0.1:2/metrics"), 32, 1, 256, 2, 0.1, 200, 60_000));

    assertThat(probes.awaitRequest(2).state()).isEqualTo(ControllerState.INITIAL);
  }

  @Test
  void aSignalThatChangesNothingLeavesTheProbeRunning(WorkflowClient client, Worker worker)
      throws Exception {
    CapacityProbeWorkflow workflow = stub(client, worker);
    WorkflowClient.start(workflow::run, ProbeInput.start(SPEC));
    probes.awaitRequest(1);

    workflow.resume();
    workflow.unpin();
    ProbeStatus status = workflow.state();

    assertThat(status.iteration()).isEqualTo(1);
    assertThat(probes.requests).hasSize(1);
  }

  @Test
  void queryReportsTheSettingsAndTheLastState(WorkflowClient client, Worker worker)
      throws Exception {
    probes.blockUntilCancelled = false;
    CapacityProbeWorkflow workflow = stub(client, worker);
    WorkflowClient.start(
        workflow::run, new ProbeInput(SPEC, Steering.NONE, ControllerState.INITIAL, 1000));
    probes.awaitRequest(3);

    ProbeStatus status = workflow.state();

    assertThat(status.spec()).isEqualTo(SPEC);
    assertThat(status.state().decisions()).isGreaterThanOrEqualTo(2);
    assertThat(status.iteration()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void continuesAsNewAfterItsIterationsCarryingStateAndSteering(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) throws Exception {
    probes.blockUntilCancelled = false;
    CapacityProbeWorkflow workflow = stub(client, worker);
    WorkflowExecution first =
        WorkflowClient.start(
            workflow::run,
            new ProbeInput(SPEC, new Steering(false, 5), ControllerState.INITIAL, 3));

    ProbeRequest fifth = probes.awaitRequest(5);

    List<HistoryEvent> events =
        client.fetchHistory(first.getWorkflowId(), first.getRunId()).getHistory().getEventsList();
    assertThat(events.get(events.size() - 1).getEventType())
        .isEqualTo(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    assertThat(fifth.state().decisions()).isEqualTo(4);
    assertThat(fifth.steering().pinnedPermits()).isEqualTo(5);
    assertThat(workflow.state().iteration()).isLessThanOrEqualTo(3);
  }
}
