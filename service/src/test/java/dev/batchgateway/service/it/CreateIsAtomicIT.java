package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.model.Ids;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.db.JdbiMetadataStore;
import dev.batchgateway.service.lifecycle.StartReconciler;
import dev.batchgateway.service.model.BatchRecord;
import dev.batchgateway.temporal.BatchWorkflowClient;
import dev.batchgateway.workflows.BatchInput;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.RequestCounts;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.client.WorkflowClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.time.Clock;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A process that dies between inserting a batch's row and starting its workflow, or between the
 * start and recording it, leaves no batch in `validating` forever: the start reconciler fails the
 * first kind with a clear error and lets the second run.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class CreateIsAtomicIT {
  private static final String TENANT = TestStack.uniqueTenant("atomic");
  private static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway("sk-atomic:" + TENANT, "BGW_TEST_INFERENCE_URL");

  private static WorkflowServiceStubs temporal;
  private static JdbiMetadataStore metadata;
  private static BatchWorkflowClient workflows;
  private final ObjectMapper json = Jackson.newObjectMapper();
  private Api api;

  @BeforeAll
  static void connect() {
    temporal =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder()
                .setTarget(TestStack.env("BGW_TEST_TEMPORAL"))
                .validateAndBuildWithDefaults());
    workflows = new BatchWorkflowClient(WorkflowClient.newInstance(temporal));
    metadata =
        new JdbiMetadataStore(
            Jdbi.create(
                TestStack.env("BGW_TEST_DB_URL"),
                TestStack.env("BGW_TEST_DB_USER"),
                TestStack.env("BGW_TEST_DB_PASSWORD")),
            Jackson.newObjectMapper());
  }

  @AfterAll
  static void disconnect() {
    temporal.shutdown();
  }

  @BeforeEach
  void client() {
    api = new Api(APP.getLocalPort(), "sk-atomic");
  }

  private StartReconciler reconciler(Duration grace) {
    return new StartReconciler(
        metadata, workflows, Clock.systemUTC(), grace, Duration.ofMinutes(1), new MetricRegistry());
  }

  /** What a create leaves behind when its process dies right after the insert. */
  private BatchRecord insertAsACrashedCreateWould(String fileId, long ageSeconds) {
    long createdAt = Clock.systemUTC().instant().getEpochSecond() - ageSeconds;
    BatchRecord row =
        new BatchRecord(
            Ids.newBatchId(),
            TENANT,
            "/v1/chat/completions",
            fileId,
            "24h",
            BatchStatus.VALIDATING,
            createdAt,
            createdAt + 86_400,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            0,
            null,
            RequestCounts.ZERO,
            Usage.ZERO);
    metadata.insertBatch(row);
    return row;
  }

  @Test
  void aRowWhoseWorkflowNeverStartedIsFailedWithAReasonNotLeftValidating() throws Exception {
    String fileId = api.uploadBatchFile(Lines.chatFile(3, 1, TestStack.model()));
    BatchRecord row = insertAsACrashedCreateWould(fileId, 600);
    assertThat(json.readTree(api.get("/v1/batches/" + row.id()).body()).path("status").asText())
        .isEqualTo("validating");

    assertThat(reconciler(Duration.ofMinutes(2)).reconcileOnce()).isGreaterThanOrEqualTo(1);

    JsonNode batch = json.readTree(api.get("/v1/batches/" + row.id()).body());
    assertThat(batch.path("status").asText()).isEqualTo("failed");
    assertThat(batch.path("failed_at").asLong()).isPositive();
    assertThat(batch.at("/errors/data/0/code").asText()).isEqualTo("batch_not_started");
    assertThat(batch.at("/errors/data/0/message").asText()).contains("Create the batch again");
    assertThat(workflows.exists(row.id())).isFalse();
  }

  @Test
  void aWorkflowStartedWhoseStartWasNeverRecordedRunsToTheEnd() throws Exception {
    String fileId = api.uploadBatchFile(Lines.chatFile(4, 2, TestStack.model()));
    BatchRecord row = insertAsACrashedCreateWould(fileId, 600);
    // The start reached Temporal, the answer did not reach the API (a timeout, a crash).
    workflows.start(
        new BatchInput(row.id(), TENANT, row.endpoint(), fileId, row.expiresAt(), 0, 1, true));

    reconciler(Duration.ofMinutes(2)).reconcileOnce();

    JsonNode batch = api.awaitTerminal(row.id(), Duration.ofSeconds(90));
    assertThat(batch.path("status").asText()).isEqualTo("completed");
    assertThat(batch.at("/request_counts/completed").asLong()).isEqualTo(4);
  }

  @Test
  void aBatchCreatedThroughTheApiIsRecordedAsStartedAndLeftAlone() throws Exception {
    String fileId = api.uploadBatchFile(Lines.chatFile(3, 1, TestStack.model()));
    String id = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();

    // No grace at all: a row the API left unmarked would be judged now.
    reconciler(Duration.ofSeconds(-5)).reconcileOnce();

    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(90));
    assertThat(batch.path("status").asText()).isEqualTo("completed");
  }
}
