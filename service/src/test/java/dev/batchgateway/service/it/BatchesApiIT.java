package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Batches end to end: REST API, Temporal dev server, PostgreSQL and the simulator. */
@ExtendWith(DropwizardExtensionsSupport.class)
class BatchesApiIT {
  private static final String TENANT = TestStack.uniqueTenant("batches");
  private static final String OTHER = TestStack.uniqueTenant("batches-other");

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-batches:" + TENANT + ",sk-batches-other:" + OTHER, "BGW_TEST_INFERENCE_URL");

  private Api api;
  private String model;

  @BeforeEach
  void client() {
    api = new Api(APP.getLocalPort(), "sk-batches");
    model = TestStack.model();
  }

  @Test
  void chatBatchCompletesWithEveryContractInvariant() throws Exception {
    int lines = 300;
    String fileId = api.uploadBatchFile(Lines.chatFile(lines, 3, model));
    JsonNode created =
        api.createBatch(fileId, "/v1/chat/completions", "\"metadata\":{\"team\":\"evals\"}");
    assertThat(created.get("status").asText()).isEqualTo("validating");
    assertThat(created.get("id").asText()).startsWith("batch_");
    assertThat(created.get("expires_at").asLong())
        .isEqualTo(created.get("created_at").asLong() + 86_400);
    assertThat(created.at("/request_counts/total").asLong()).isZero();

    JsonNode batch = api.awaitTerminal(created.get("id").asText(), Duration.ofMinutes(2));

    assertThat(batch.get("status").asText()).isEqualTo("completed");
    assertThat(batch.get("model").asText()).isEqualTo(model);
    assertThat(batch.at("/metadata/team").asText()).isEqualTo("evals");
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText(null));
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText(null));
    List<String> ids = IntStream.range(0, lines).mapToObj(i -> "req-" + i).toList();
    Invariants.assertHold(batch, output, errors, ids);
    assertThat(output).hasSize(lines);

    long prompt =
        output.stream().mapToLong(l -> l.at("/response/body/usage/prompt_tokens").asLong()).sum();
    long completion =
        output.stream()
            .mapToLong(l -> l.at("/response/body/usage/completion_tokens").asLong())
            .sum();
    assertThat(batch.at("/usage/input_tokens").asLong()).isEqualTo(prompt).isPositive();
    assertThat(batch.at("/usage/output_tokens").asLong()).isEqualTo(completion);
    assertThat(batch.at("/usage/total_tokens").asLong()).isEqualTo(prompt + completion);

    JsonNode outputFile = Api.json(api.get("/v1/files/" + batch.get("output_file_id").asText()));
    assertThat(outputFile.get("purpose").asText()).isEqualTo("batch_output");
    assertThat(outputFile.get("filename").asText())
        .isEqualTo("batch_output_" + batch.get("id").asText() + ".jsonl");
  }

  @Test
  void linesSharingASystemPromptRunTogether() throws Exception {
    String fileId = api.uploadBatchFile(Lines.chatFile(60, 4, model));
    JsonNode batch =
        api.awaitTerminal(
            api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText(),
            Duration.ofMinutes(2));
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText());

    // Output follows plan order: each prompt group (i % 4) must form one contiguous run.
    List<Integer> groups = new ArrayList<>();
    for (JsonNode line : output) {
      int group = Integer.parseInt(line.get("custom_id").asText().substring(4)) % 4;
      if (groups.isEmpty() || groups.get(groups.size() - 1) != group) {
        groups.add(group);
      }
    }
    assertThat(groups).hasSize(4).doesNotHaveDuplicates();
  }

  @Test
  void invalidLinesFailTheBatchWithLineNumbers() throws Exception {
    String good = Lines.chat("ok-1", model, null, "hi", 5);
    String file =
        String.join(
                "\n",
                good,
                "this is not json",
                Lines.chat("ok-1", model, null, "dup", 5),
                Lines.chat("m-1", "no-such-model", null, "hi", 5),
                "{\"custom_id\":\"x\",\"method\":\"GET\",\"url\":\"/v1/chat/completions\",\"body\":{}}",
                "{\"custom_id\":\"y\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{}}",
                "{\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}",
                "{\"custom_id\":\"s\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\""
                    + model
                    + "\",\"messages\":[],\"stream\":true}}",
                "{\"custom_id\":\"z\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\""
                    + model
                    + "\"}}")
            + "\n";
    JsonNode batch =
        api.awaitTerminal(
            api.createBatch(api.uploadBatchFile(file), "/v1/chat/completions", null)
                .get("id")
                .asText(),
            Duration.ofMinutes(1));

    assertThat(batch.get("status").asText()).isEqualTo("failed");
    assertThat(batch.get("failed_at").asLong())
        .isGreaterThanOrEqualTo(batch.get("created_at").asLong());
    assertThat(batch.get("output_file_id").isNull()).isTrue();
    Map<Integer, String> codes = new LinkedHashMap<>();
    Map<Integer, String> params = new LinkedHashMap<>();
    for (JsonNode error : batch.at("/errors/data")) {
      codes.put(error.get("line").asInt(), error.get("code").asText());
      params.put(error.get("line").asInt(), error.get("param").asText(null));
    }
    assertThat(batch.at("/errors/object").asText()).isEqualTo("list");
    assertThat(codes)
        .containsExactly(
            Map.entry(2, "invalid_json_line"),
            Map.entry(3, "duplicate_custom_id"),
            Map.entry(4, "model_not_found"),
            Map.entry(5, "invalid_method"),
            Map.entry(6, "invalid_url"),
            Map.entry(7, "missing_required_parameter"),
            Map.entry(8, "streaming_unsupported"),
            Map.entry(9, "invalid_request"));
    assertThat(params)
        .containsEntry(4, "body.model")
        .containsEntry(7, "custom_id")
        .containsEntry(8, "body.stream")
        .containsEntry(9, "body.messages");
  }

  @Test
  void emptyFileFails() throws Exception {
    JsonNode batch =
        api.awaitTerminal(
            api.createBatch(api.uploadBatchFile(""), "/v1/chat/completions", null)
                .get("id")
                .asText(),
            Duration.ofMinutes(1));
    assertThat(batch.get("status").asText()).isEqualTo("failed");
    assertThat(batch.at("/errors/data/0/code").asText()).isEqualTo("empty_file");
  }

  @Test
  void backendRejectionsLandInTheErrorFileWithTheBackendsAnswer() throws Exception {
    String file =
        Lines.chat("fine", model, null, "hi", 5)
            + "\n"
            + Lines.chat("too-long", model, null, "hi", 50_000)
            + "\n";
    JsonNode batch =
        api.awaitTerminal(
            api.createBatch(api.uploadBatchFile(file), "/v1/chat/completions", null)
                .get("id")
                .asText(),
            Duration.ofMinutes(1));

    assertThat(batch.get("status").asText()).isEqualTo("completed");
    List<JsonNode> errors = api.lines(batch.get("error_file_id").asText());
    Invariants.assertHold(
        batch,
        api.lines(batch.get("output_file_id").asText()),
        errors,
        List.of("fine", "too-long"));
    JsonNode rejected = errors.get(0);
    assertThat(rejected.get("custom_id").asText()).isEqualTo("too-long");
    assertThat(rejected.at("/response/status_code").asInt()).isEqualTo(400);
    assertThat(rejected.at("/response/body/error/message").asText()).contains("context length");
  }

  @Test
  void embeddingsBatchCompletes() throws Exception {
    StringBuilder file = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      file.append(
          "{\"custom_id\":\"e-"
              + i
              + "\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{\"model\":\""
              + model
              + "\",\"input\":\"text "
              + i
              + "\"}}\n");
    }
    JsonNode batch =
        api.awaitTerminal(
            api.createBatch(api.uploadBatchFile(file.toString()), "/v1/embeddings", null)
                .get("id")
                .asText(),
            Duration.ofMinutes(1));
    assertThat(batch.get("status").asText()).isEqualTo("completed");
    assertThat(batch.at("/request_counts/completed").asInt()).isEqualTo(20);
    assertThat(
            api.lines(batch.get("output_file_id").asText())
                .get(0)
                .at("/response/body/data/0/embedding"))
        .isNotEmpty();
  }

  @Test
  void createRejectsBadRequests() {
    String fileId = api.uploadBatchFile(Lines.chatFile(1, 1, model));
    assertError(
        api.post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + fileId
                + "\",\"endpoint\":\"/v1/images\",\"completion_window\":\"24h\"}"),
        400,
        "endpoint");
    assertError(
        api.post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"1h\"}"),
        400,
        "completion_window");
    assertError(
        api.post(
            "/v1/batches", "{\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}"),
        400,
        "input_file_id");
    assertError(
        api.post(
            "/v1/batches",
            "{\"input_file_id\":\"file-nope\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}"),
        400,
        "input_file_id");
    StringBuilder metadata = new StringBuilder("{");
    for (int i = 0; i < 17; i++) {
      metadata.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
    }
    metadata.append("}");
    assertError(
        api.post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\",\"metadata\":"
                + metadata
                + "}"),
        400,
        "metadata");
    assertError(api.post("/v1/batches", "{not json"), 400, null);
    assertError(api.post("/v1/batches", ""), 400, null);
    HttpResponse<String> huge =
        api.post("/v1/batches", "{\"metadata\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}");
    assertThat(huge.statusCode()).isEqualTo(413);
    assertError(api.post("/v1/batches", "[]"), 400, null);

    String userData =
        Api.json(api.upload("x.jsonl", "{}".getBytes(), Map.of("purpose", "user_data"), false))
            .get("id")
            .asText();
    assertError(
        api.post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + userData
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}"),
        400,
        "input_file_id");
  }

  @Test
  void batchesAreTenantScopedAndListedNewestFirst() throws Exception {
    String fileId = api.uploadBatchFile(Lines.chatFile(2, 1, model));
    List<String> created = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      created.add(api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText());
    }
    List<String> listed = new ArrayList<>();
    String after = null;
    while (true) {
      JsonNode page =
          Api.json(api.get("/v1/batches?limit=2" + (after == null ? "" : "&after=" + after)));
      page.get("data").forEach(b -> listed.add(b.get("id").asText()));
      if (!page.get("has_more").asBoolean()) {
        break;
      }
      after = page.get("last_id").asText();
    }
    assertThat(listed).doesNotHaveDuplicates().containsSubsequence(created.reversed());

    Api other = api.withKey("sk-batches-other");
    assertThat(other.get("/v1/batches/" + created.get(0)).statusCode()).isEqualTo(404);
    assertThat(other.post("/v1/batches/" + created.get(0) + "/cancel", "").statusCode())
        .isEqualTo(404);
    assertThat(Api.json(other.get("/v1/batches")).get("data")).isEmpty();
    assertError(
        other.post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}"),
        400,
        "input_file_id");
    HttpResponse<String> missing = api.get("/v1/batches/batch_missing");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(Api.json(missing).at("/error/message").asText())
        .isEqualTo("No batch found with id 'batch_missing'.");
    for (String id : created) {
      api.awaitTerminal(id, Duration.ofMinutes(1));
    }
  }

  @Test
  void cancellingAFinishedBatchIsAConflict() throws Exception {
    String id =
        api.createBatch(
                api.uploadBatchFile(Lines.chatFile(3, 1, model)), "/v1/chat/completions", null)
            .get("id")
            .asText();
    api.awaitTerminal(id, Duration.ofMinutes(1));
    HttpResponse<String> response = api.post("/v1/batches/" + id + "/cancel", "");
    assertThat(response.statusCode()).isEqualTo(409);
    assertThat(response.headers().firstValue("x-should-retry")).hasValue("false");
    assertThat(Api.json(response).at("/error/message").asText())
        .isEqualTo("Cannot cancel a batch with status 'completed'.");
  }

  @Test
  void operatorsFindBatchesInTemporalBySearchAttributes() throws Exception {
    String id =
        api.createBatch(
                api.uploadBatchFile(Lines.chatFile(3, 1, model)), "/v1/chat/completions", null)
            .get("id")
            .asText();
    api.awaitTerminal(id, Duration.ofMinutes(1));
    WorkflowServiceStubs stubs =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder()
                .setTarget(TestStack.env("BGW_TEST_TEMPORAL"))
                .validateAndBuildWithDefaults());
    try {
      String query =
          "WorkflowId = '"
              + id
              + "' AND BatchStatus = 'completed' AND BatchTenant = '"
              + TENANT
              + "'";
      int found = TestStack.countWorkflows(stubs, query);
      assertThat(found).isEqualTo(1);
    } finally {
      stubs.shutdown();
    }
  }

  private static void assertError(HttpResponse<String> response, int status, String param) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    JsonNode error = Api.json(response).get("error");
    assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.get("param").asText(null)).isEqualTo(param);
  }
}
