package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.files.S3FileStoreFactory;
import dev.batchgateway.service.files.TestS3Server;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A whole batch through a gateway whose file store is S3 (S3Proxy in this process): upload,
 * planning, chunks and their checkpoints, finalize and download all go through the bucket.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class S3StoreIT {
  private static final String TENANT = TestStack.uniqueTenant("s3");
  private static final String BUCKET = "gateway-it";
  private static final String PREFIX = "it/";
  private static final int LINES = 300;

  static final TestS3Server S3 = startWithBucket();

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-s3:" + TENANT,
          "BGW_TEST_INFERENCE_URL",
          ConfigOverride.config("files.type", "s3"),
          ConfigOverride.config("files.s3.endpoint", S3::endpoint),
          ConfigOverride.config("files.s3.bucket", BUCKET),
          ConfigOverride.config("files.s3.pathStyle", "true"),
          ConfigOverride.config("files.s3.prefix", PREFIX),
          ConfigOverride.config("files.s3.accessKeyId", TestS3Server.ACCESS_KEY),
          ConfigOverride.config("files.s3.secretAccessKey", TestS3Server.SECRET_KEY),
          ConfigOverride.config("files.s3.partSize", "5MiB"),
          ConfigOverride.config("batches.chunkLines", "100"),
          ConfigOverride.config("batches.segmentLines", "20"));

  private static TestS3Server startWithBucket() {
    TestS3Server server = TestS3Server.start();
    server.createBucket(BUCKET);
    return server;
  }

  @AfterAll
  static void stopS3() throws Exception {
    S3.close();
  }

  @Test
  void aBatchRunsWithEveryByteInTheBucket() throws Exception {
    assertThat(APP.getConfiguration().getFiles()).isInstanceOf(S3FileStoreFactory.class);
    assertThat(APP.getEnvironment().healthChecks().runHealthCheck("files").isHealthy()).isTrue();
    Api api = new Api(APP.getLocalPort(), "sk-s3");

    String fileId = api.uploadBatchFile(Lines.chatFile(LINES, 5, TestStack.model()));
    String id = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(120));

    assertThat(batch.get("status").asText()).isEqualTo("completed");
    String outputId = batch.get("output_file_id").asText();
    List<JsonNode> output = api.lines(outputId);
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(
        batch, output, errors, IntStream.range(0, LINES).mapToObj(i -> "req-" + i).toList());
    assertThat(output).hasSize(LINES);

    List<String> keys = S3.keys(BUCKET);
    assertThat(keys)
        .contains(
            PREFIX + StorageKeys.file(TENANT, fileId),
            PREFIX + StorageKeys.file(TENANT, outputId),
            PREFIX + StorageKeys.chunkInput(TENANT, id, 0),
            PREFIX + StorageKeys.chunkInput(TENANT, id, 2))
        .allMatch(key -> key.startsWith(PREFIX + TENANT + "/"));
  }
}
