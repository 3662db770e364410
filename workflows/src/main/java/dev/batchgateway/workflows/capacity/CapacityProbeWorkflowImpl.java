package dev.batchgateway.workflows.capacity;

import dev.batchgateway.workflows.ActivityPolicies;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;

/**
 * Holds the policy (settings, pause, pin) and the controller's memory; the fast loop runs in the
 * probe activity. A signal that changes the policy cancels the running probe and starts a new one
 * with it; a probe that returns on its own is started again. After {@code iterationsPerRun} probes
 * the workflow continues as new, so its history stays short however long it runs.
 */
public class CapacityProbeWorkflowImpl implements CapacityProbeWorkflow {
  private static final Logger log = Workflow.getLogger(CapacityProbeWorkflowImpl.class);

  private PoolProbeSpec spec;
  private Steering steering;
  private ControllerState state = ControllerState.INITIAL;
  private long asOfMillis;
  private int iteration;

  /** Bumped by every signal that changes the settings or steering; a running probe restarts. */
  private int policyVersion;

  /** Set when the engines changed: what was learned of the old ones does not apply. */
  private boolean forgetState;

  @Override
  public void run(ProbeInput input) {
    state = input.state();
    // Signals delivered before run() started have already set these: they win.
    if (spec == null) {
      spec = input.spec();
    }
    if (steering == null) {
      steering = input.steering();
    }
    log.info("Capacity probe for pool {} starts with {}", spec.pool(), steering);

    while (iteration < input.iterationsPerRun() && !Workflow.getInfo().isContinueAsNewSuggested()) {
      iteration++;
      runProbe();
    }
    Workflow.await(Workflow::isEveryHandlerFinished);
    Workflow.continueAsNew(new ProbeInput(spec, steering, state, input.iterationsPerRun()));
  }

  private void runProbe() {
    // The stub's timeout depends on the run length, which a configure signal may change.
    CapacityProbeActivities probes =
        Workflow.newActivityStub(
            CapacityProbeActivities.class,
            ActivityPolicies.capacityProbe(Duration.ofMillis(spec.runMillis())));
    int seen = policyVersion;
    ProbeRequest request = new ProbeRequest(spec, steering, state);
    List<Promise<ProbeResult>> box = new ArrayList<>(1);
    CancellationScope scope =
        Workflow.newCancellationScope(() -> box.add(Async.function(probes::probe, request)));
    scope.run();
    Promise<ProbeResult> probe = box.get(0);
    Workflow.await(() -> probe.isCompleted() || policyVersion != seen);
    if (!probe.isCompleted()) {
      scope.cancel();
    }
    try {
      state = probe.get().state();
      asOfMillis = Workflow.currentTimeMillis();
    } catch (ActivityFailure | CanceledFailure e) {
      // The next probe starts from the last state the workflow saw and from the limiter's limit.
      log.warn(
          "Capacity probe for pool {} ended without its state: {}", spec.pool(), e.getMessage());
    }
    if (forgetState) {
      state = ControllerState.INITIAL;
      forgetState = false;
    }
  }

  private void steer(Steering next) {
    Steering current = steering == null ? Steering.NONE : steering;
    if (!Objects.equals(current, next)) {
      steering = next;
      policyVersion++;
    }
  }

  private Steering current() {
    return steering == null ? Steering.NONE : steering;
  }

  @Override
  public void configure(PoolProbeSpec next) {
    if (next != null && !next.equals(spec)) {
      forgetState = spec != null && !spec.metricsUrls().equals(next.metricsUrls());
      spec = next;
      policyVersion++;
    }
  }

  @Override
  public void pin(PinRequest request) {
    if (request == null || request.permits() < 0) {
      log.warn("Ignoring pin without a non-negative permits value: {}", request);
      return;
    }
    steer(new Steering(current().paused(), request.permits()));
  }

  @Override
  public void unpin() {
    steer(new Steering(current().paused(), null));
  }

  @Override
  public void pause() {
    steer(new Steering(true, current().pinnedPermits()));
  }

  @Override
  public void resume() {
    steer(new Steering(false, current().pinnedPermits()));
  }

  @Override
  public ProbeStatus state() {
    return new ProbeStatus(spec, current(), state, asOfMillis, iteration);
  }
}
