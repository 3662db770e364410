package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The inference server dies in the middle of a batch and refuses connections for a minute (issue
 * 8): that is an outage, not an inference error, so the batch waits it out and no line fails.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class BackendOutageIT {
  private static final String TENANT = TestStack.uniqueTenant("backend-outage");
  private static final int LINES = 160;
  private static final Duration OUTAGE = Duration.ofSeconds(60);

  /** About 0.6 s a request, 8 in flight: the batch takes some 12 s without the outage. */
  private static Simulator sim = startSimulator();

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gatewayAt(
          "sk-backend-outage:" + TENANT,
          () -> sim.baseUrl,
          ConfigOverride.config("batches.chunkLines", "80"),
          ConfigOverride.config("batches.segmentLines", "5"),
          ConfigOverride.config("batches.chunkConcurrency", "4"));

  private static Simulator startSimulator() {
    try {
      return Simulator.start(
          64, "500ms", "20ms", Files.createTempFile("backend-outage-it-sim-", ".log"));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterAll
  static void stopSimulator() {
    sim.close();
  }

  @Test
  void aBackendRefusingConnectionsForAMinuteMidBatchFailsNoLine() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-backend-outage");
    String fileId = api.uploadBatchFile(Lines.chatFile(LINES, 4, Simulator.MODEL));
    String batchId = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    JsonNode before = awaitLinesDone(api, batchId, 16, Duration.ofSeconds(60));
    assertThat(before.at("/request_counts/completed").asLong()).isLessThan(LINES / 2);

    sim.kill();
    Thread.sleep(OUTAGE.toMillis());
    JsonNode during = Api.json(api.get("/v1/batches/" + batchId));
    sim = sim.startAgain();

    assertThat(during.get("status").asText()).isEqualTo("in_progress");
    assertThat(during.at("/request_counts/failed").asLong()).isZero();
    JsonNode batch = api.awaitTerminal(batchId, Duration.ofMinutes(2));
    assertThat(batch.get("status").asText()).isEqualTo("completed");
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(
        batch, output, errors, IntStream.range(0, LINES).mapToObj(i -> "req-" + i).toList());
    assertThat(errors).isEmpty();
    assertThat(output).hasSize(LINES);
    assertThat(
            APP.getEnvironment()
                .metrics()
                .counter("batch_gateway_inference_circuit_opens_total[pool=default]")
                .getCount())
        .as("circuit openings")
        .isPositive();
  }

  /** Polls until at least {@code done} lines have a recorded result. */
  private static JsonNode awaitLinesDone(Api api, String batchId, int done, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JsonNode batch = Api.json(api.get("/v1/batches/" + batchId));
      JsonNode counts = batch.get("request_counts");
      if (counts.get("completed").asLong() + counts.get("failed").asLong() >= done) {
        return batch;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Batch " + batchId + " did not get going: " + batch);
      }
      Thread.sleep(100);
    }
  }
}
