package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.files.FilesystemFileStoreFactory;
import dev.batchgateway.temporal.CleanupSchedule;
import dev.batchgateway.workflows.TaskQueues;
import dev.batchgateway.workflows.cleanup.CleanupWorkflow;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.client.schedules.ScheduleActionStartWorkflow;
import io.temporal.client.schedules.ScheduleAlreadyRunningException;
import io.temporal.client.schedules.ScheduleClient;
import io.temporal.client.schedules.ScheduleClientOptions;
import io.temporal.client.schedules.ScheduleDescription;
import io.temporal.client.schedules.ScheduleIntervalSpec;
import io.temporal.client.schedules.ScheduleOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Expiry and cleanup end to end: a whole gateway on the Temporal dev server, its cleanup schedule
 * every two seconds. The API forbids expiries under an hour, so the test moves timestamps back in
 * PostgreSQL instead of waiting.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class LifecycleIT {
  private static final String TENANT = TestStack.uniqueTenant("lifecycle");

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-life:" + TENANT,
          "BGW_TEST_INFERENCE_URL",
          ConfigOverride.config("cleanup.interval", "2s"),
          ConfigOverride.config("cleanup.pageSize", "2"),
          ConfigOverride.config("cleanup.workGrace", "1s"),
          ConfigOverride.config("cleanup.batchRetention", "1h"));

  private static WorkflowServiceStubs temporal;
  private static ScheduleClient schedules;
  private static Jdbi jdbi;
  private Api api;

  @BeforeAll
  static void connect() {
    temporal =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder()
                .setTarget(TestStack.env("BGW_TEST_TEMPORAL"))
                .validateAndBuildWithDefaults());
    schedules =
        ScheduleClient.newInstance(
            temporal, ScheduleClientOptions.newBuilder().setNamespace("default").build());
    jdbi =
        Jdbi.create(
            TestStack.env("BGW_TEST_DB_URL"),
            TestStack.env("BGW_TEST_DB_USER"),
            TestStack.env("BGW_TEST_DB_PASSWORD"));
  }

  @AfterAll
  static void disconnect() {
    temporal.shutdown();
  }

  @BeforeEach
  void client() {
    api = new Api(APP.getLocalPort(), "sk-life");
  }

  private static Path root() {
    return Path.of(((FilesystemFileStoreFactory) APP.getConfiguration().getFiles()).getRoot())
        .resolve(TENANT);
  }

  private static long now() {
    return System.currentTimeMillis() / 1000;
  }

  private String upload(String filename, String purpose, Map<String, String> extra) {
    Map<String, String> fields = new java.util.HashMap<>(extra);
    fields.put("purpose", purpose);
    HttpResponse<String> response =
        api.upload(filename, "{\"a\":1}\n".getBytes(StandardCharsets.UTF_8), fields, true);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return Api.json(response).get("id").asText();
  }

  private List<String> listedIds() {
    List<String> ids = new ArrayList<>();
    Api.json(api.get("/v1/files?limit=10000"))
        .get("data")
        .forEach(f -> ids.add(f.get("id").asText()));
    return ids;
  }

  private static void await(String what, Callable<Boolean> condition) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.call()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Still not true after 60 s: " + what);
      }
      Thread.sleep(250);
    }
  }

  @Test
  void expiredFilesAndOldBatchesDisappearWithTheirBytesAndLiveOnesStay() throws Exception {
    String input = api.uploadBatchFile(Lines.chatFile(4, 1, TestStack.model()));
    JsonNode created =
        api.createBatch(
            input,
            "/v1/chat/completions",
            "\"output_expires_after\":{\"anchor\":\"created_at\",\"seconds\":7200}");
    String batchId = created.get("id").asText();
    JsonNode batch = api.awaitTerminal(batchId, Duration.ofSeconds(90));
    assertThat(batch.get("status").asText()).isEqualTo("completed");
    String outputId = batch.get("output_file_id").asText();
    JsonNode output = Api.json(api.get("/v1/files/" + outputId));
    assertThat(output.get("expires_at").asLong())
        .as("output_expires_after is anchored at the output file's creation")
        .isEqualTo(output.get("created_at").asLong() + 7200);

    String shortLived =
        upload(
            "short.jsonl",
            "batch",
            Map.of("expires_after[anchor]", "created_at", "expires_after[seconds]", "3600"));
    JsonNode shortFile = Api.json(api.get("/v1/files/" + shortLived));
    assertThat(shortFile.get("expires_at").asLong())
        .isEqualTo(shortFile.get("created_at").asLong() + 3600);
    String forever = upload("notes.txt", "user_data", Map.of());
    assertThat(Api.json(api.get("/v1/files/" + forever)).get("expires_at").isNull()).isTrue();
    assertThat(Files.exists(root().resolve("files").resolve(shortLived))).isTrue();
    assertThat(Files.isDirectory(root().resolve("batches").resolve(batchId)))
        .as("the batch's work folder")
        .isTrue();

    // An hour passes for the short-lived file; two for the batch (retention one hour).
    jdbi.useHandle(
        handle -> {
          handle.execute("UPDATE files SET expires_at = ? WHERE id = ?", now() - 1, shortLived);
          handle.execute(
              "UPDATE batches SET created_at = created_at - 7200, completed_at = ? WHERE id = ?",
              now() - 7200,
              batchId);
        });

    HttpResponse<String> gone = api.get("/v1/files/" + shortLived);
    assertThat(gone.statusCode()).as("expired answers at once, before cleanup").isEqualTo(404);
    assertThat(Api.json(gone).at("/error/message").asText())
        .isEqualTo("No such File object: " + shortLived);
    assertThat(api.getBytes("/v1/files/" + shortLived + "/content").statusCode()).isEqualTo(404);
    assertThat(api.delete("/v1/files/" + shortLived).statusCode()).isEqualTo(404);
    assertThat(listedIds()).doesNotContain(shortLived).contains(forever, input, outputId);

    await(
        "the expired file's bytes, the batch record and its work folder are gone",
        () ->
            !Files.exists(root().resolve("files").resolve(shortLived))
                && !Files.exists(root().resolve("batches").resolve(batchId))
                && api.get("/v1/batches/" + batchId).statusCode() == 404);

    for (String live : List.of(input, forever, outputId)) {
      assertThat(api.get("/v1/files/" + live).statusCode()).as(live).isEqualTo(200);
      assertThat(api.getBytes("/v1/files/" + live + "/content").statusCode())
          .as(live)
          .isEqualTo(200);
      assertThat(Files.exists(root().resolve("files").resolve(live))).as(live).isTrue();
    }
    boolean purged =
        jdbi.withHandle(
            handle ->
                handle
                    .createQuery("SELECT purged_at IS NOT NULL FROM files WHERE id = :id")
                    .bind("id", shortLived)
                    .mapTo(Boolean.class)
                    .one());
    assertThat(purged).as("the expired file's row records that its bytes are gone").isTrue();
    assertThat(
            APP.getEnvironment()
                    .metrics()
                    .meter("batch_gateway_cleanup_batches_deleted_total")
                    .getCount()
                + APP.getEnvironment()
                    .metrics()
                    .meter("batch_gateway_cleanup_files_purged_total")
                    .getCount())
        .isGreaterThanOrEqualTo(2);
  }

  @Test
  void thereIsOneScheduleHoweverManyProcessesEnsureIt() throws Exception {
    await(
        "the gateway created the schedule",
        () -> {
          try {
            schedules.getHandle(CleanupWorkflow.SCHEDULE_ID).describe();
            return true;
          } catch (RuntimeException e) {
            return false;
          }
        });
    var request = APP.getConfiguration().getCleanup().toRequest();
    List<Thread> others = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 3; i++) {
      others.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    try {
                      CleanupSchedule.ensure(schedules, Duration.ofSeconds(2), request);
                    } catch (Throwable e) {
                      failures.add(e);
                    }
                  }));
    }
    for (Thread other : others) {
      other.join();
    }
    assertThat(failures).as("a second process starting must not fail").isEmpty();

    assertThatThrownBy(
            () ->
                schedules.createSchedule(
                    CleanupWorkflow.SCHEDULE_ID,
                    schedules.getHandle(CleanupWorkflow.SCHEDULE_ID).describe().getSchedule(),
                    ScheduleOptions.newBuilder().build()))
        .isInstanceOf(ScheduleAlreadyRunningException.class);

    ScheduleDescription description = schedules.getHandle(CleanupWorkflow.SCHEDULE_ID).describe();
    assertThat(description.getSchedule().getSpec().getIntervals())
        .extracting(ScheduleIntervalSpec::getEvery)
        .containsExactly(Duration.ofSeconds(2));
    ScheduleActionStartWorkflow action =
        (ScheduleActionStartWorkflow) description.getSchedule().getAction();
    assertThat(action.getWorkflowType()).isEqualTo("CleanupWorkflow");
    assertThat(action.getOptions().getTaskQueue()).isEqualTo(TaskQueues.CLEANUP);
    await(
        "the schedule has started passes",
        () ->
            schedules.getHandle(CleanupWorkflow.SCHEDULE_ID).describe().getInfo().getNumActions()
                > 0);
  }
}
