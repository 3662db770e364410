package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tenant B, holding every id of tenant A's objects, can neither read, list, download, delete,
 * cancel, reprioritize nor build a batch on any of them; and none of B's calls reaches A's workflow
 * as a signal. The simulator is slow enough that A's batch is still running while B tries.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class TenantIsolationIT {
  private static final String TENANT_A = TestStack.uniqueTenant("iso-a");
  private static final String TENANT_B = TestStack.uniqueTenant("iso-b");
  private static final int A_LINES = 80;
  private static final int A_PRIORITY = 2;

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-iso-a:" + TENANT_A + ",sk-iso-b:" + TENANT_B,
          "BGW_TEST_SLOW_INFERENCE_URL",
          ConfigOverride.config("batches.parallelChunks", "1"),
          ConfigOverride.config("batches.chunkLines", "200"),
          ConfigOverride.config("batches.segmentLines", "10"),
          ConfigOverride.config("batches.chunkConcurrency", "8"));

  private static WorkflowServiceStubs temporal;

  @BeforeAll
  static void connect() {
    temporal =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder()
                .setTarget(TestStack.env("BGW_TEST_TEMPORAL"))
                .validateAndBuildWithDefaults());
  }

  @AfterAll
  static void disconnect() {
    temporal.shutdown();
  }

  @Test
  void tenantBCannotTouchAnythingOfTenantANorSignalItsWorkflow() throws Exception {
    Api a = new Api(APP.getLocalPort(), "sk-iso-a");
    Api b = a.withKey("sk-iso-b");

    String inputOfA = a.uploadBatchFile(Lines.chatFile(A_LINES, 5, TestStack.model()));
    String batchOfA =
        a.createBatch(inputOfA, "/v1/chat/completions", "\"priority\":" + A_PRIORITY)
            .get("id")
            .asText();
    // B's own batch: the control that B's cancel and priority calls do signal B's workflow, and
    // that this test would see it in the history.
    String inputOfB = b.uploadBatchFile(Lines.chatFile(A_LINES, 5, TestStack.model()));
    String batchOfB =
        b.createBatch(inputOfB, "/v1/chat/completions", "\"priority\":1").get("id").asText();
    await(a, batchOfA, x -> x.at("/request_counts/completed").asLong() > 0);
    await(b, batchOfB, x -> x.at("/request_counts/completed").asLong() > 0);

    // The batch, while it runs.
    assertSameAsUnknownBatch(b.get("/v1/batches/" + batchOfA), batchOfA);
    assertSameAsUnknownBatch(b.post("/v1/batches/" + batchOfA + "/cancel", ""), batchOfA);
    assertSameAsUnknownBatch(
        b.post("/v1/batches/" + batchOfA + "/priority", "{\"priority\":7}"), batchOfA);
    assertThat(everyBatchId(b)).contains(batchOfB).doesNotContain(batchOfA);
    HttpResponse<String> pagedFromA = b.get("/v1/batches?limit=1&after=" + batchOfA);
    assertThat(pagedFromA.statusCode()).as(pagedFromA.body()).isEqualTo(400);
    assertThat(Api.json(pagedFromA).at("/error/message").asText())
        .isEqualTo("No batch found with id '" + batchOfA + "'.");

    // The input file.
    assertNoAccessToFile(b, inputOfA);
    assertThat(everyFileId(b)).contains(inputOfB).doesNotContain(inputOfA);
    HttpResponse<String> filesFromA = b.get("/v1/files?limit=1&after=" + inputOfA);
    assertThat(filesFromA.statusCode()).as(filesFromA.body()).isEqualTo(400);
    assertThat(Api.json(filesFromA).at("/error/message").asText())
        .isEqualTo("No such File object: " + inputOfA);
    assertNoBatchFrom(b, inputOfA);

    // B's own calls do reach B's workflow.
    HttpResponse<String> ownPriority =
        b.post("/v1/batches/" + batchOfB + "/priority", "{\"priority\":3}");
    assertThat(ownPriority.statusCode()).as(ownPriority.body()).isEqualTo(200);
    HttpResponse<String> ownCancel = b.post("/v1/batches/" + batchOfB + "/cancel", "");
    assertThat(ownCancel.statusCode()).as(ownCancel.body()).isEqualTo(200);

    JsonNode finalOfA = a.awaitTerminal(batchOfA, Duration.ofSeconds(45));
    JsonNode finalOfB = b.awaitTerminal(batchOfB, Duration.ofSeconds(30));
    assertThat(finalOfB.get("status").asText()).isEqualTo("cancelled");
    assertThat(finalOfB.get("priority").asInt()).isEqualTo(3);
    assertThat(signals(batchOfB)).contains("reprioritize", "cancel");

    assertThat(finalOfA.get("status").asText()).isEqualTo("completed");
    assertThat(finalOfA.get("priority").asInt()).isEqualTo(A_PRIORITY);
    assertThat(finalOfA.at("/request_counts/completed").asInt()).isEqualTo(A_LINES);
    assertThat(finalOfA.get("cancelling_at").isNull()).isTrue();
    assertThat(signals(batchOfA)).as("signals in the history of A's workflow").isEmpty();
    assertThat(
            TestStack.countWorkflows(
                temporal,
                "WorkflowId = '"
                    + batchOfA
                    + "' AND BatchPriority = "
                    + A_PRIORITY
                    + " AND BatchTenant = '"
                    + TENANT_A
                    + "'"))
        .isEqualTo(1);

    // The finished batch and the file it wrote.
    String outputOfA = finalOfA.get("output_file_id").asText();
    assertSameAsUnknownBatch(b.get("/v1/batches/" + batchOfA), batchOfA);
    assertSameAsUnknownBatch(b.post("/v1/batches/" + batchOfA + "/cancel", ""), batchOfA);
    assertSameAsUnknownBatch(
        b.post("/v1/batches/" + batchOfA + "/priority", "{\"priority\":7}"), batchOfA);
    assertNoAccessToFile(b, outputOfA);
    assertNoBatchFrom(b, outputOfA);
    assertThat(everyFileId(b)).doesNotContain(outputOfA, inputOfA);
    assertThat(signals(batchOfA)).isEmpty();

    // A still has everything B went for.
    assertThat(a.lines(outputOfA)).hasSize(A_LINES);
    assertThat(a.get("/v1/files/" + inputOfA).statusCode()).isEqualTo(200);
    assertThat(everyFileId(a)).contains(inputOfA, outputOfA).doesNotContain(inputOfB);
    assertThat(everyBatchId(a)).contains(batchOfA).doesNotContain(batchOfB);
  }

  /** B gets exactly the answer it would get for a batch id nobody has. */
  private static void assertSameAsUnknownBatch(HttpResponse<String> response, String id) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(404);
    JsonNode error = Api.json(response).get("error");
    assertThat(error.get("message").asText()).isEqualTo("No batch found with id '" + id + "'.");
    assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
  }

  private static void assertNoAccessToFile(Api b, String fileId) {
    for (HttpResponse<String> response :
        List.of(
            b.get("/v1/files/" + fileId),
            b.get("/v1/files/" + fileId + "/content"),
            b.delete("/v1/files/" + fileId))) {
      assertThat(response.statusCode()).as(response.body()).isEqualTo(404);
      assertThat(Api.json(response).at("/error/message").asText())
          .isEqualTo("No such File object: " + fileId);
    }
    HttpResponse<byte[]> download = b.getBytes("/v1/files/" + fileId + "/content");
    assertThat(download.statusCode()).isEqualTo(404);
  }

  private static void assertNoBatchFrom(Api b, String fileId) {
    HttpResponse<String> created =
        b.post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(400);
    JsonNode error = Api.json(created).get("error");
    assertThat(error.get("message").asText()).isEqualTo("No such File object: " + fileId);
    assertThat(error.get("param").asText()).isEqualTo("input_file_id");
  }

  /** Every batch id the tenant lists, walking the pages one batch at a time. */
  private static List<String> everyBatchId(Api api) {
    return everyId(api, "/v1/batches?limit=1");
  }

  /** Every file id the tenant lists, walking the pages one file at a time. */
  private static List<String> everyFileId(Api api) {
    return everyId(api, "/v1/files?limit=1");
  }

  private static List<String> everyId(Api api, String firstPage) {
    List<String> ids = new ArrayList<>();
    String page = firstPage;
    while (true) {
      HttpResponse<String> response = api.get(page);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      JsonNode body = Api.json(response);
      body.get("data").forEach(item -> ids.add(item.get("id").asText()));
      if (!body.get("has_more").asBoolean()) {
        return ids;
      }
      assertThat(ids.size()).as("pages walked").isLessThan(1000);
      page = firstPage + "&after=" + body.get("last_id").asText();
    }
  }

  /**
   * The names of the signals in every run of the batch's workflow: the history of its latest run
   * and, following each run's start event back, of the runs it continued from.
   */
  private static List<String> signals(String workflowId) {
    WorkflowClient client = WorkflowClient.newInstance(temporal);
    List<String> names = new ArrayList<>();
    String runId = "";
    int runs = 0;
    do {
      List<HistoryEvent> events =
          client
              .fetchHistory(workflowId, runId.isEmpty() ? null : runId)
              .getHistory()
              .getEventsList();
      assertThat(events).isNotEmpty();
      assertThat(events.get(0).getEventType())
          .isEqualTo(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
      events.stream()
          .filter(e -> e.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
          .forEach(e -> names.add(e.getWorkflowExecutionSignaledEventAttributes().getSignalName()));
      runId =
          events.get(0).getWorkflowExecutionStartedEventAttributes().getContinuedExecutionRunId();
      runs++;
    } while (!runId.isEmpty() && runs < 100);
    return names;
  }

  private static JsonNode await(Api api, String id, Predicate<JsonNode> condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    JsonNode batch = Api.json(api.get("/v1/batches/" + id));
    while (!condition.test(batch)) {
      assertThat(System.nanoTime())
          .as("waiting on batch " + id + ": " + batch)
          .isLessThan(deadline);
      Thread.sleep(50);
      batch = Api.json(api.get("/v1/batches/" + id));
    }
    return batch;
  }
}
