package dev.batchgateway.workflows.capacity;

import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCompletionException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A probe that counts one decision per run and either heartbeats until it is cancelled (then
 * returns its state, as the real one does) or returns after a short pause.
 */
class FakeProbeActivities implements CapacityProbeActivities {
  final List<ProbeRequest> requests = new CopyOnWriteArrayList<>();
  final AtomicInteger cancelled = new AtomicInteger();
  volatile boolean blockUntilCancelled = true;

  @Override
  public ProbeResult probe(ProbeRequest request) {
    requests.add(request);
    ControllerState s = request.state();
    ControllerState next =
        new ControllerState(
            s.mode(),
            s.limit(),
            s.capacityEstimate(),
            s.learnedCapacity(),
            s.interactive(),
            s.inFlight(),
            s.lastSample(),
            s.lastDecision(),
            s.lastDownMillis(),
            s.unreachableSinceMillis(),
            s.minLatencyMillis(),
            s.window(),
            s.decisions() + 1,
            s.interactiveLevel());
    ActivityExecutionContext context = Activity.getExecutionContext();
    while (true) {
      try {
        context.heartbeat(next);
        Thread.sleep(20);
      } catch (ActivityCompletionException e) {
        cancelled.incrementAndGet();
        return new ProbeResult(next);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new ProbeResult(next);
      }
      if (!blockUntilCancelled) {
        return new ProbeResult(next);
      }
    }
  }

  ProbeRequest awaitRequest(int count) throws InterruptedException {
    for (int i = 0; i < 1500 && requests.size() < count; i++) {
      Thread.sleep(20);
    }
    if (requests.size() < count) {
      throw new AssertionError("probe ran " + requests.size() + " times, expected " + count);
    }
    return requests.get(count - 1);
  }
}
