package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * PostgreSQL stops for a minute in the middle of a batch (issue 8). Chunks carry on without it and
 * chunks that need it wait for it, so no line fails and no finished request is sent again; the API
 * answers 503 in OpenAI's envelope meanwhile instead of hanging.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PostgresOutageIT {
  private static final String TENANT = TestStack.uniqueTenant("pg-outage");
  private static final int LINES = 160;
  private static final Duration OUTAGE = Duration.ofSeconds(60);

  /** About 0.6 s a request, two chunks of 40 lines at a time, 4 requests each. */
  private static final Simulator SIM = startSimulator();

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gatewayAt(
          "sk-pg-outage:" + TENANT,
          () -> SIM.baseUrl,
          ConfigOverride.config("batches.chunkLines", "40"),
          ConfigOverride.config("batches.segmentLines", "5"),
          ConfigOverride.config("batches.parallelChunks", "2"),
          ConfigOverride.config("batches.chunkConcurrency", "4"));

  private static Simulator startSimulator() {
    try {
      return Simulator.start(
          64, "500ms", "20ms", Files.createTempFile("pg-outage-it-sim-", ".log"));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterAll
  static void restore() throws Exception {
    try {
      TestPostgres.ensureRunning();
    } finally {
      SIM.close();
    }
  }

  @Test
  void aMinuteWithoutPostgresMidBatchFailsNoLineAndRedoesNoRequest() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-pg-outage");
    String fileId = api.uploadBatchFile(Lines.chatFile(LINES, 4, Simulator.MODEL));
    long succeededBefore =
        APP.getEnvironment()
            .metrics()
            .counter("batch_gateway_requests_total[result=succeeded]")
            .getCount();
    String batchId = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    JsonNode before = awaitLinesDone(api, batchId, 10, Duration.ofSeconds(60));
    assertThat(before.at("/request_counts/completed").asLong()).isLessThan(LINES / 2);

    HttpResponse<String> whileDown;
    long answeredInMillis;
    long stoppedAt = System.nanoTime();
    TestPostgres.stop();
    try {
      Thread.sleep(3_000);
      long asked = System.nanoTime();
      whileDown = api.get("/v1/batches/" + batchId);
      answeredInMillis = (System.nanoTime() - asked) / 1_000_000;
      Thread.sleep(Math.max(0, OUTAGE.toMillis() - (System.nanoTime() - stoppedAt) / 1_000_000));
    } finally {
      TestPostgres.start();
    }

    assertThat(answeredInMillis).as("API answer time while PostgreSQL is down").isLessThan(10_000);
    assertThat(whileDown.statusCode()).isEqualTo(503);
    assertThat(whileDown.headers().firstValue("content-type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
    JsonNode error = Api.json(whileDown).get("error");
    assertThat(Invariants.fieldNames(Api.json(whileDown))).containsExactly("error");
    assertThat(error.get("type").asText()).isEqualTo("server_error");
    assertThat(error.get("code").asText()).isEqualTo("service_unavailable");
    assertThat(whileDown.body()).doesNotContain("Exception").doesNotContain("\tat ");

    JsonNode batch = awaitTerminal(api, batchId, Duration.ofMinutes(2));
    assertThat(batch.get("status").asText()).isEqualTo("completed");
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(
        batch, output, errors, IntStream.range(0, LINES).mapToObj(i -> "req-" + i).toList());
    assertThat(errors).isEmpty();
    assertThat(output).hasSize(LINES);
    long succeeded =
        APP.getEnvironment()
                .metrics()
                .counter("batch_gateway_requests_total[result=succeeded]")
                .getCount()
            - succeededBefore;
    assertThat(succeeded).as("requests answered, none twice").isEqualTo(LINES);
  }

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

  /** As {@link Api#awaitTerminal}, taking a 503 right after the restart as "not yet". */
  private static JsonNode awaitTerminal(Api api, String batchId, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      HttpResponse<String> response = api.get("/v1/batches/" + batchId);
      if (response.statusCode() == 200) {
        JsonNode batch = Api.json(response);
        if (List.of("completed", "failed", "expired", "cancelled")
            .contains(batch.get("status").asText())) {
          return batch;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Batch " + batchId + " not done after " + timeout);
      }
      Thread.sleep(200);
    }
  }
}
