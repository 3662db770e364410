package dev.batchgateway.temporal;

import dev.batchgateway.workflows.TaskQueues;
import dev.batchgateway.workflows.capacity.CapacityProbeWorkflow;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import dev.batchgateway.workflows.capacity.ProbeInput;
import io.dropwizard.lifecycle.Managed;
import io.temporal.client.BatchRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure every pool has its capacity probe: at start-up, for each pool, signal-with-start on
 * the fixed workflow id. A probe that already runs just gets this worker's settings; none starts a
 * second one. Runs in the background, retrying while Temporal is still starting.
 */
public final class CapacityProbeStarter implements Managed {
  private static final Logger log = LoggerFactory.getLogger(CapacityProbeStarter.class);

  private final TemporalConnection temporal;
  private final List<PoolProbeSpec> pools;
  private Thread thread;

  public CapacityProbeStarter(TemporalConnection temporal, List<PoolProbeSpec> pools) {
    this.temporal = temporal;
    this.pools = List.copyOf(pools);
  }

  @Override
  public void start() {
    thread = Thread.ofVirtual().name("capacity-probe-starter").start(this::startAll);
  }

  @Override
  public void stop() {
    thread.interrupt();
  }

  private void startAll() {
    for (PoolProbeSpec pool : pools) {
      while (!Thread.currentThread().isInterrupted()) {
        try {
          ensure(temporal.client(), pool);
          log.info("Capacity probe running: {}", CapacityProbeWorkflow.workflowId(pool.pool()));
          break;
        } catch (RuntimeException e) {
          log.info("Capacity probe for pool {} not started yet: {}", pool.pool(), e.getMessage());
          try {
            Thread.sleep(2000);
          } catch (InterruptedException interrupted) {
            return;
          }
        }
      }
    }
  }

  /** Starts the pool's probe, or hands a running one these settings. Idempotent. */
  public static void ensure(WorkflowClient client, PoolProbeSpec pool) {
    CapacityProbeWorkflow probe =
        client.newWorkflowStub(
            CapacityProbeWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId(CapacityProbeWorkflow.workflowId(pool.pool()))
                .setTaskQueue(TaskQueues.CAPACITY)
                .build());
    BatchRequest request = client.newSignalWithStartRequest();
    request.add(probe::run, ProbeInput.start(pool));
    request.add(probe::configure, pool);
    client.signalWithStart(request);
  }
}
