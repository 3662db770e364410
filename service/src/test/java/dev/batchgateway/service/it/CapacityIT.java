package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.codahale.metrics.Gauge;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.workflows.ActivityPolicies;
import dev.batchgateway.workflows.capacity.CapacityProbeWorkflow;
import dev.batchgateway.workflows.capacity.PinRequest;
import dev.batchgateway.workflows.capacity.ProbeMode;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole gateway with adaptive capacity against its own simulator of 8 slots: interactive
 * requests sent straight to the engine lower the batch limit, which comes back when they end; a pin
 * from Temporal holds it.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class CapacityIT {
  private static final Simulator SIM = startSimulator();

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.probingGateway(
          "sk-capacity:" + TestStack.uniqueTenant("capacity"),
          () -> SIM.baseUrl,
          ConfigOverride.config("capacity.maxConcurrency", "8"),
          ConfigOverride.config("capacity.interval", "100ms"));

  private static Simulator startSimulator() {
    if (Simulator.binary() == null) {
      return null;
    }
    try {
      return Simulator.start(8, Files.createTempFile("capacity-it-sim-", ".log"));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterAll
  static void stopSimulator() {
    if (SIM != null) {
      SIM.close();
    }
  }

  private static int gauge(String name) {
    Gauge<?> gauge =
        APP.getEnvironment()
            .metrics()
            .getGauges()
            .get("batch_gateway_capacity_" + name + "[pool=default]");
    return ((Number) gauge.getValue()).intValue();
  }

  @Test
  void interactiveLoadLowersTheLimitAndAPinHoldsIt() throws Exception {
    assumeTrue(SIM != null, "llm-d-inference-sim not built (make tools)");
    // Idle, the limit sits one step (a tenth of 8 slots) above nothing in flight: slow start.
    awaitValue(() -> gauge("limit"), 1, Duration.ofSeconds(60));
    // A batch that always wants more opens it, a step a tick, to 8 slots - headroom 2.
    Api api = new Api(APP.getLocalPort(), "sk-capacity");
    String batch =
        api.createBatch(
                api.uploadBatchFile(Lines.chatFile(6_000, 5, Simulator.MODEL)),
                "/v1/chat/completions",
                null)
            .get("id")
            .asText();
    try {
      withABatchRunning();
    } finally {
      api.post("/v1/batches/" + batch + "/cancel", "{}");
    }
  }

  private void withABatchRunning() throws Exception {
    awaitValue(() -> gauge("limit"), 6, Duration.ofSeconds(60));
    // The worker's configure signal may restart the probe just after its first ticks; a restart
    // pauses the loop for up to a heartbeat, so let it settle before measuring a reaction.
    Thread.sleep(ActivityPolicies.CAPACITY_HEARTBEAT_TIMEOUT.toMillis() + 1000);

    List<CompletableFuture<HttpResponse<Void>>> calls = SIM.interactive(4, 150);
    int lowest = lowestWithin(() -> gauge("limit"), Duration.ofMillis(1400));
    assertThat(lowest).as("limit with 4 interactive requests").isLessThanOrEqualTo(8 - 4 - 2);
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
    awaitValue(() -> gauge("limit"), 6, Duration.ofSeconds(10));

    WorkflowServiceStubs service =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder()
                .setTarget(TestStack.env("BGW_TEST_TEMPORAL"))
                .build());
    try {
      WorkflowClient client =
          WorkflowClient.newInstance(
              service, WorkflowClientOptions.newBuilder().setNamespace("default").build());
      CapacityProbeWorkflow probe =
          client.newWorkflowStub(
              CapacityProbeWorkflow.class, CapacityProbeWorkflow.workflowId("default"));
      probe.pin(new PinRequest(3));
      awaitValue(() -> gauge("limit"), 3, Duration.ofSeconds(10));
      probe.unpin();
      awaitValue(() -> gauge("limit"), 6, Duration.ofSeconds(10));
      assertThat(probe.state().spec().maxConcurrency()).isEqualTo(8);
      assertThat(probe.state().state().mode()).isIn(ProbeMode.ADAPTIVE, ProbeMode.PINNED);
    } finally {
      service.shutdown();
    }
  }

  private static void awaitValue(IntSupplier value, int expected, Duration within)
      throws InterruptedException {
    long end = System.nanoTime() + within.toNanos();
    while (value.getAsInt() != expected && System.nanoTime() < end) {
      Thread.sleep(20);
    }
    assertThat(value.getAsInt()).isEqualTo(expected);
  }

  private static int lowestWithin(IntSupplier value, Duration within) throws InterruptedException {
    int lowest = Integer.MAX_VALUE;
    long end = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < end) {
      lowest = Math.min(lowest, value.getAsInt());
      Thread.sleep(10);
    }
    return lowest;
  }
}
