package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Against a simulator that answers half its requests with 429 or 500. */
@ExtendWith(DropwizardExtensionsSupport.class)
class RetriesIT {
  private static final String TENANT = TestStack.uniqueTenant("retries");

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-retries:" + TENANT,
          "BGW_TEST_FAULTY_INFERENCE_URL",
          ConfigOverride.config("batches.maxAttempts", "20"),
          ConfigOverride.config("batches.initialBackoff", "5ms"),
          ConfigOverride.config("batches.maxBackoff", "50ms"));

  @Test
  void retriedRateLimitsAndServerErrorsEndInSuccess() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-retries");
    int lines = 60;
    String fileId = api.uploadBatchFile(Lines.chatFile(lines, 2, TestStack.model()));
    long retriedBefore =
        APP.getEnvironment().metrics().counter("batch_gateway_request_retries_total").getCount();

    JsonNode batch =
        api.awaitTerminal(
            api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText(),
            Duration.ofMinutes(2));

    assertThat(batch.get("status").asText()).isEqualTo("completed");
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(
        batch, output, errors, IntStream.range(0, lines).mapToObj(i -> "req-" + i).toList());
    // With 20 tries at a 50% failure rate a line fails for good with odds of 1 in 2^20 (with 12,
    // 1 in 4096 a line: one run in about 70 of this 60-line test lost a line that way).
    assertThat(output).hasSize(lines);
    long retried =
        APP.getEnvironment().metrics().counter("batch_gateway_request_retries_total").getCount()
            - retriedBefore;
    assertThat(retried).as("retries made").isGreaterThan(5);
  }
}
