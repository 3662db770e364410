package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.workflows.BatchWorkflow;
import dev.batchgateway.workflows.ReprioritizeRequest;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Cancel, expiry and reprioritize while requests are in flight, against a simulator slow enough
 * (time to first token, few concurrent sequences) that a batch is still running when we act.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class BatchControlIT {
  private static final String TENANT = TestStack.uniqueTenant("control");
  private static final int LINES = 600;

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-control:" + TENANT,
          "BGW_TEST_SLOW_INFERENCE_URL",
          ConfigOverride.config("batches.completionWindows.4s", "4s"),
          ConfigOverride.config("batches.parallelChunks", "1"),
          ConfigOverride.config("batches.chunkLines", "200"),
          ConfigOverride.config("batches.segmentLines", "10"),
          ConfigOverride.config("batches.chunkConcurrency", "8"));

  private static WorkflowServiceStubs temporal;
  private Api api;

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

  @BeforeEach
  void client() {
    api = new Api(APP.getLocalPort(), "sk-control");
  }

  private String startSlowBatch(String extra) throws InterruptedException {
    String fileId = api.uploadBatchFile(Lines.chatFile(LINES, 5, TestStack.model()));
    String id = api.createBatch(fileId, "/v1/chat/completions", extra).get("id").asText();
    awaitBatch(id, b -> b.at("/request_counts/completed").asLong() > 0, Duration.ofSeconds(60));
    return id;
  }

  @Test
  void cancelWhileRunningStopsWithinSecondsAndKeepsFinishedResults() throws Exception {
    String id = startSlowBatch(null);

    long start = System.nanoTime();
    HttpResponse<String> cancel = api.post("/v1/batches/" + id + "/cancel", "");
    assertThat(cancel.statusCode()).isEqualTo(200);
    assertThat(Api.json(cancel).get("status").asText()).isEqualTo("cancelling");
    assertThat(Api.json(cancel).get("cancelling_at").isNull()).isFalse();
    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(30));
    double seconds = (System.nanoTime() - start) / 1e9;

    assertThat(batch.get("status").asText()).isEqualTo("cancelled");
    assertThat(seconds).as("seconds from cancel call to cancelled").isLessThan(5.0);
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(batch, output, errors, ids());
    assertThat(output).isNotEmpty();
    assertThat(errors).isNotEmpty();
    errors.forEach(e -> assertThat(e.at("/error/code").asText()).isEqualTo("batch_cancelled"));
    assertThat(Api.json(api.post("/v1/batches/" + id + "/cancel", "")).get("status").asText())
        .isEqualTo("cancelled");
  }

  @Test
  void aBatchPastItsWindowExpiresWithPartialResults() throws Exception {
    String fileId = api.uploadBatchFile(Lines.chatFile(LINES, 5, TestStack.model()));
    String id =
        Api.json(
                api.post(
                    "/v1/batches",
                    "{\"input_file_id\":\""
                        + fileId
                        + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"4s\"}"))
            .get("id")
            .asText();

    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(60));

    assertThat(batch.get("status").asText()).isEqualTo("expired");
    assertThat(batch.get("expires_at").asLong()).isEqualTo(batch.get("created_at").asLong() + 4);
    assertThat(batch.get("expired_at").asLong())
        .isGreaterThanOrEqualTo(batch.get("expires_at").asLong());
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(batch, output, errors, ids());
    assertThat(errors).isNotEmpty();
    errors.forEach(e -> assertThat(e.at("/error/code").asText()).isEqualTo("batch_expired"));
  }

  @Test
  void priorityChangesByRestAndBySignalShowOnTheBatchAndInTemporal() throws Exception {
    String id = startSlowBatch("\"priority\":1");
    assertThat(Api.json(api.get("/v1/batches/" + id)).get("priority").asInt()).isEqualTo(1);

    HttpResponse<String> changed = api.post("/v1/batches/" + id + "/priority", "{\"priority\":5}");
    assertThat(changed.statusCode()).isEqualTo(200);
    assertThat(Api.json(changed).get("priority").asInt()).isEqualTo(5);
    assertThat(countInTemporal("WorkflowId = '" + id + "' AND BatchPriority = 5")).isEqualTo(1);
    for (int i = 0; i < 9; i++) {
      HttpResponse<String> same = api.post("/v1/batches/" + id + "/priority", "{\"priority\":5}");
      assertThat(same.statusCode()).isEqualTo(200);
      assertThat(Api.json(same).get("priority").asInt()).isEqualTo(5);
    }
    assertThat(priorityEvents(id))
        .as("ten equal calls: one signal, one recorded priority")
        .containsExactly(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);

    WorkflowClient.newInstance(temporal)
        .newWorkflowStub(BatchWorkflow.class, id)
        .reprioritize(new ReprioritizeRequest(9));
    awaitBatch(id, b -> b.get("priority").asInt() == 9, Duration.ofSeconds(10));
    assertThat(countInTemporal("WorkflowId = '" + id + "' AND BatchPriority = 9")).isEqualTo(1);
    assertThat(
            countInTemporal(
                "WorkflowId = '"
                    + id
                    + "' AND BatchStatus = 'in_progress' AND BatchTenant = '"
                    + TENANT
                    + "'"))
        .isEqualTo(1);

    assertThat(api.post("/v1/batches/" + id + "/priority", "{\"priority\":\"high\"}").statusCode())
        .isEqualTo(400);
    api.post("/v1/batches/" + id + "/cancel", "");
    api.awaitTerminal(id, Duration.ofSeconds(30));
    assertThat(api.post("/v1/batches/" + id + "/priority", "{\"priority\":1}").statusCode())
        .isEqualTo(409);
  }

  @Test
  void manyPriorityChangesMoveTheBatchToANewRunAndItCompletesWithEveryLineOnce() throws Exception {
    String id = startSlowBatch(null);
    String firstRun = currentRun(id);

    int changes = 0;
    int priority = 0;
    while (currentRun(id).equals(firstRun)) {
      assertThat(changes).as("changes before the run moved").isLessThan(1000);
      priority = changes % 2 == 0 ? 3 : 4;
      HttpResponse<String> changed =
          api.post("/v1/batches/" + id + "/priority", "{\"priority\":" + priority + "}");
      assertThat(changed.statusCode()).isEqualTo(200);
      changes++;
    }
    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(180));

    assertThat(batch.get("status").asText()).isEqualTo("completed");
    assertThat(batch.get("priority").asInt()).isEqualTo(priority);
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(batch, output, errors, ids());
    assertThat(output).hasSize(LINES);
  }

  /** The run id of the batch's workflow as it runs now. */
  private static String currentRun(String id) {
    return temporal
        .blockingStub()
        .describeWorkflowExecution(
            DescribeWorkflowExecutionRequest.newBuilder()
                .setNamespace("default")
                .setExecution(WorkflowExecution.newBuilder().setWorkflowId(id))
                .build())
        .getWorkflowExecutionInfo()
        .getExecution()
        .getRunId();
  }

  /** The signals and the recordPriority activities in the batch's workflow history. */
  private static List<EventType> priorityEvents(String id) {
    return WorkflowClient.newInstance(temporal).fetchHistory(id).getEvents().stream()
        .filter(
            e ->
                e.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                    || (e.hasActivityTaskScheduledEventAttributes()
                        && e.getActivityTaskScheduledEventAttributes()
                            .getActivityType()
                            .getName()
                            .equalsIgnoreCase("recordPriority")))
        .map(HistoryEvent::getEventType)
        .toList();
  }

  private static List<String> ids() {
    return IntStream.range(0, LINES).mapToObj(i -> "req-" + i).toList();
  }

  private JsonNode awaitBatch(String id, Predicate<JsonNode> condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode batch = Api.json(api.get("/v1/batches/" + id));
    while (!condition.test(batch)) {
      assertThat(System.nanoTime())
          .as("waiting on batch " + id + ": " + batch)
          .isLessThan(deadline);
      Thread.sleep(100);
      batch = Api.json(api.get("/v1/batches/" + id));
    }
    return batch;
  }

  private static int countInTemporal(String query) throws InterruptedException {
    return TestStack.countWorkflows(temporal, query);
  }
}
