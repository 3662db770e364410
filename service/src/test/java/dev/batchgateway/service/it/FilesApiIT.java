package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(DropwizardExtensionsSupport.class)
class FilesApiIT {
  private static final String TENANT_A = TestStack.uniqueTenant("files-a");
  private static final String TENANT_B = TestStack.uniqueTenant("files-b");

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-files-a:" + TENANT_A + ",sk-files-b:" + TENANT_B,
          "BGW_TEST_INFERENCE_URL",
          ConfigOverride.config("batches.maxBatchFileSize", "64KiB"),
          ConfigOverride.config("batches.maxFileSize", "128KiB"));

  private Api api;

  @BeforeEach
  void client() {
    api = new Api(APP.getLocalPort(), "sk-files-a");
  }

  @Test
  void uploadRetrieveDownloadDelete() {
    byte[] content = "{\"a\":1}\n{\"b\":2}\n".getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> upload =
        api.upload("data.jsonl", content, Map.of("purpose", "batch"), false);
    assertThat(upload.statusCode()).isEqualTo(200);
    JsonNode file = Api.json(upload);
    String id = file.get("id").asText();
    assertThat(id).startsWith("file-");
    assertThat(file.get("object").asText()).isEqualTo("file");
    assertThat(file.get("bytes").asLong()).isEqualTo(content.length);
    assertThat(file.get("filename").asText()).isEqualTo("data.jsonl");
    assertThat(file.get("purpose").asText()).isEqualTo("batch");
    assertThat(file.get("status").asText()).isEqualTo("processed");
    assertThat(file.get("expires_at").asLong())
        .isEqualTo(file.get("created_at").asLong() + 30 * 86400);
    assertThat(file.has("status_details")).isTrue();

    assertThat(Api.json(api.get("/v1/files/" + id))).isEqualTo(file);

    HttpResponse<byte[]> download = api.getBytes("/v1/files/" + id + "/content");
    assertThat(download.statusCode()).isEqualTo(200);
    assertThat(download.body()).isEqualTo(content);
    assertThat(download.headers().firstValue("content-type")).hasValue("application/octet-stream");
    assertThat(download.headers().firstValue("content-disposition"))
        .hasValue("attachment; filename=\"data.jsonl\"");

    HttpResponse<String> deleted = api.delete("/v1/files/" + id);
    assertThat(Api.json(deleted).get("deleted").asBoolean()).isTrue();
    HttpResponse<String> gone = api.get("/v1/files/" + id);
    assertThat(gone.statusCode()).isEqualTo(404);
    assertThat(Api.json(gone).at("/error/message").asText())
        .isEqualTo("No such File object: " + id);
    assertThat(api.getBytes("/v1/files/" + id + "/content").statusCode()).isEqualTo(404);
  }

  @Test
  void fieldsMayComeBeforeOrAfterTheFileAndExpiryIsHonoured() {
    HttpResponse<String> upload =
        api.upload(
            "x.jsonl",
            "{}\n".getBytes(StandardCharsets.UTF_8),
            Map.of(
                "purpose", "batch",
                "expires_after[anchor]", "created_at",
                "expires_after[seconds]", "7200"),
            true);
    JsonNode file = Api.json(upload);
    assertThat(upload.statusCode()).isEqualTo(200);
    assertThat(file.get("expires_at").asLong()).isEqualTo(file.get("created_at").asLong() + 7200);

    HttpResponse<String> noName =
        api.upload(
            null, "hello".getBytes(StandardCharsets.UTF_8), Map.of("purpose", "user_data"), false);
    assertThat(noName.statusCode()).isEqualTo(200);
    assertThat(Api.json(noName).get("filename").asText()).isNotBlank();
    assertThat(Api.json(noName).get("expires_at").isNull()).isTrue();
  }

  @Test
  void badUploadsAreRejectedWithOpenAiErrors() {
    byte[] small = "{}\n".getBytes(StandardCharsets.UTF_8);
    assertError(api.upload("a.txt", small, Map.of("purpose", "batch"), false), 400, "file");
    assertError(api.upload("a.jsonl", small, Map.of("purpose", "nonsense"), false), 400, "purpose");
    assertError(api.upload("a.jsonl", small, Map.of(), false), 400, "purpose");
    assertError(
        api.upload(
            "a.jsonl", small, Map.of("purpose", "batch", "expires_after[seconds]", "7200"), false),
        400,
        "expires_after");
    assertError(
        api.upload(
            "a.jsonl",
            small,
            Map.of(
                "purpose", "batch",
                "expires_after[anchor]", "created_at",
                "expires_after[seconds]", "60"),
            false),
        400,
        "expires_after.seconds");
    HttpResponse<String> notMultipart = api.post("/v1/files", "{\"purpose\":\"batch\"}");
    assertThat(notMultipart.statusCode()).isEqualTo(400);
  }

  @Test
  void oversizeUploadsAre413AndLeaveNothingBehind() {
    byte[] big = new byte[100 * 1024];
    java.util.Arrays.fill(big, (byte) 'x');
    int before = listAll("batch").size();
    // Purpose first: the batch limit (64 KiB) applies while streaming.
    assertError(api.upload("big.jsonl", big, Map.of("purpose", "batch"), true), 413, "file");
    // Purpose after the file: the batch limit is applied once the purpose is known.
    assertError(api.upload("big.jsonl", big, Map.of("purpose", "batch"), false), 413, "file");
    // Over the global limit (128 KiB) whatever the purpose.
    assertError(
        api.upload("big.bin", new byte[200 * 1024], Map.of("purpose", "user_data"), false),
        413,
        "file");
    assertThat(listAll("batch")).hasSize(before);
  }

  @Test
  void listPaginatesWithCursorsInBothOrders() {
    List<String> uploaded = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      uploaded.add(api.uploadBatchFile("{\"n\":" + i + "}\n"));
    }
    api.upload(
        "u.txt", "x".getBytes(StandardCharsets.UTF_8), Map.of("purpose", "user_data"), false);

    List<String> newestFirst = listAll("batch").stream().map(f -> f.get("id").asText()).toList();
    assertThat(newestFirst).containsSubsequence(uploaded.reversed());
    assertThat(newestFirst).doesNotHaveDuplicates();

    JsonNode ascPage = Api.json(api.get("/v1/files?order=asc&limit=2&purpose=batch"));
    assertThat(ascPage.get("object").asText()).isEqualTo("list");
    assertThat(ascPage.get("data")).hasSize(2);
    assertThat(ascPage.get("has_more").asBoolean()).isTrue();
    assertThat(ascPage.get("first_id").asText()).isEqualTo(ascPage.at("/data/0/id").asText());
    assertThat(ascPage.get("last_id").asText()).isEqualTo(ascPage.at("/data/1/id").asText());

    assertError(api.get("/v1/files?limit=0"), 400, "limit");
    assertError(api.get("/v1/files?limit=10001"), 400, "limit");
    assertError(api.get("/v1/files?order=sideways"), 400, "order");
  }

  @Test
  void tenantsAreIsolatedAndKeysRequired() {
    String id = api.uploadBatchFile("{}\n");
    Api other = api.withKey("sk-files-b");
    assertThat(other.get("/v1/files/" + id).statusCode()).isEqualTo(404);
    assertThat(other.getBytes("/v1/files/" + id + "/content").statusCode()).isEqualTo(404);
    assertThat(other.delete("/v1/files/" + id).statusCode()).isEqualTo(404);
    assertThat(Api.json(other.get("/v1/files")).get("data").findValuesAsText("id"))
        .doesNotContain(id);

    HttpResponse<String> noKey = api.withKey(null).get("/v1/files");
    assertThat(noKey.statusCode()).isEqualTo(401);
    assertThat(Api.json(noKey).at("/error/type").asText()).isEqualTo("authentication_error");
    assertThat(api.withKey("sk-wrong").get("/v1/files").statusCode()).isEqualTo(401);
    assertThat(api.get("/v1/files/" + id).statusCode()).isEqualTo(200);
  }

  @Test
  void unknownRoutesAnswerInTheEnvelope() {
    HttpResponse<String> response = api.get("/v1/nothing-here");
    assertThat(response.statusCode()).isEqualTo(404);
    JsonNode error = Api.json(response).get("error");
    assertThat(error.get("message").asText())
        .startsWith("Unknown request URL: GET /v1/nothing-here");
    assertThat(error.has("type") && error.has("param") && error.has("code")).isTrue();
  }

  private List<JsonNode> listAll(String purpose) {
    List<JsonNode> all = new ArrayList<>();
    String after = null;
    while (true) {
      JsonNode page =
          Api.json(
              api.get(
                  "/v1/files?limit=2&purpose="
                      + purpose
                      + (after == null ? "" : "&after=" + after)));
      page.get("data").forEach(all::add);
      if (!page.get("has_more").asBoolean()) {
        return all;
      }
      after = page.get("last_id").asText();
    }
  }

  private static void assertError(HttpResponse<String> response, int status, String param) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    JsonNode error = Api.json(response).get("error");
    assertThat(error.get("message").asText()).isNotBlank();
    assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.get("param").asText(null)).isEqualTo(param);
    assertThat(error.has("code")).isTrue();
  }
}
