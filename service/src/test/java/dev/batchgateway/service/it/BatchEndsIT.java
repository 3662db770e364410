package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.files.FilesystemFileStoreFactory;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A batch whose results cannot all be read back still ends, with errors saying why and files
 * holding everything that could be read: a checkpoint segment is cut short on disk while the batch
 * runs, so finalize meets it, fails at once, and the salvage finalize ends the batch.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class BatchEndsIT {
  private static final String TENANT = TestStack.uniqueTenant("ends");
  private static final int LINES = 600;
  private static final int SEGMENT_LINES = 10;

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-ends:" + TENANT,
          "BGW_TEST_SLOW_INFERENCE_URL",
          ConfigOverride.config("batches.parallelChunks", "1"),
          ConfigOverride.config("batches.chunkLines", "200"),
          ConfigOverride.config("batches.segmentLines", String.valueOf(SEGMENT_LINES)),
          ConfigOverride.config("batches.chunkConcurrency", "8"));

  @Test
  void aDamagedCheckpointStillEndsTheBatchWithErrorsAndEveryRequestReportedOnce() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-ends");
    String fileId = api.uploadBatchFile(Lines.chatFile(LINES, 5, TestStack.model()));
    String id = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    Path segment =
        Path.of(((FilesystemFileStoreFactory) APP.getConfiguration().getFiles()).getRoot())
            .resolve(StorageKeys.segment(TENANT, id, 0, 0));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!Files.exists(segment)) {
      assertThat(System.nanoTime()).as("first segment of " + id).isLessThan(deadline);
      Thread.sleep(100);
    }
    byte[] bytes = Files.readAllBytes(segment);
    Files.write(segment, Arrays.copyOf(bytes, bytes.length - 30));

    HttpResponse<String> cancel = api.post("/v1/batches/" + id + "/cancel", "");
    assertThat(cancel.statusCode()).isEqualTo(200);
    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(60));

    assertThat(batch.get("status").asText()).isEqualTo("cancelled");
    List<String> codes = new ArrayList<>();
    batch.at("/errors/data").forEach(error -> codes.add(error.get("code").asText()));
    assertThat(codes).containsExactly("finalize_failed", "result_lost");
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(
        batch, output, errors, IntStream.range(0, LINES).mapToObj(i -> "req-" + i).toList());
    assertThat(errors)
        .filteredOn(line -> line.at("/error/code").asText().equals("result_lost"))
        .hasSize(SEGMENT_LINES);
    assertThat(errors)
        .extracting(line -> line.at("/error/code").asText())
        .isSubsetOf("result_lost", "batch_cancelled", "");
  }

  @Test
  void anInputFileWhoseBytesAreGoneFailsTheBatchWithErrors() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-ends");
    String fileId = api.uploadBatchFile(Lines.chatFile(3, 1, TestStack.model()));
    Files.delete(
        Path.of(((FilesystemFileStoreFactory) APP.getConfiguration().getFiles()).getRoot())
            .resolve(StorageKeys.file(TENANT, fileId)));

    String id = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(60));

    assertThat(batch.get("status").asText()).isEqualTo("failed");
    assertThat(batch.get("failed_at").isNull()).isFalse();
    assertThat(batch.at("/errors/data/0/code").asText()).isEqualTo("planning_failed");
    assertThat(batch.at("/errors/data/0/message").asText()).contains("input_missing");
    assertThat(batch.get("output_file_id").isNull()).isTrue();
    assertThat(batch.get("error_file_id").isNull()).isTrue();
  }
}
