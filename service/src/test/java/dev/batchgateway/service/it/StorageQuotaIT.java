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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Storage quotas on the real stack: each limit answers 429 and frees up again. */
@ExtendWith(DropwizardExtensionsSupport.class)
class StorageQuotaIT {
  private static final String FILES = TestStack.uniqueTenant("quota-files");
  private static final String BYTES = TestStack.uniqueTenant("quota-bytes");
  private static final String ONE = TestStack.uniqueTenant("quota-one");
  private static final String FREE = TestStack.uniqueTenant("quota-free");
  private static final String RACE = TestStack.uniqueTenant("quota-race");

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-q-files:"
              + FILES
              + ",sk-q-bytes:"
              + BYTES
              + ",sk-q-one:"
              + ONE
              + ",sk-q-free:"
              + FREE
              + ",sk-q-race:"
              + RACE,
          "BGW_TEST_INFERENCE_URL",
          ConfigOverride.config("storageQuota.maxFiles", "3"),
          ConfigOverride.config("storageQuota.maxBytes", "1000000"),
          ConfigOverride.config("storageQuota.tenants." + BYTES + ".maxBytes", "1000"),
          ConfigOverride.config("storageQuota.tenants." + BYTES + ".maxFiles", "100"),
          ConfigOverride.config("storageQuota.tenants." + ONE + ".maxFiles", "1"),
          ConfigOverride.config("storageQuota.tenants." + FREE + ".maxFiles", "0"),
          ConfigOverride.config("storageQuota.tenants." + RACE + ".maxFiles", "5"));

  private static HttpResponse<String> upload(Api api, int bytes) {
    byte[] content = "x".repeat(bytes).getBytes(StandardCharsets.UTF_8);
    return api.upload("data.txt", content, Map.of("purpose", "user_data"), false);
  }

  private static int listed(Api api) {
    return Api.json(api.get("/v1/files?limit=100")).get("data").size();
  }

  @Test
  void theFileCountQuotaRefusesTheNextUploadUntilAFileIsDeleted() {
    Api api = new Api(APP.getLocalPort(), "sk-q-files");
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> ok = upload(api, 10);
      assertThat(ok.statusCode()).isEqualTo(200);
      ids.add(Api.json(ok).get("id").asText());
    }

    HttpResponse<String> over = upload(api, 10);

    assertThat(over.statusCode()).isEqualTo(429);
    assertThat(over.headers().firstValue("x-should-retry")).hasValue("false");
    JsonNode error = Api.json(over).get("error");
    assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
    assertThat(error.get("code").asText()).isEqualTo("quota_exceeded");
    assertThat(error.get("message").asText())
        .contains("'" + FILES + "'")
        .contains("stores 3 files")
        .contains("quota is 3 files");
    assertThat(listed(api)).isEqualTo(3);

    assertThat(api.delete("/v1/files/" + ids.get(0)).statusCode()).isEqualTo(200);
    assertThat(upload(api, 10).statusCode()).isEqualTo(200);
  }

  @Test
  void theByteQuotaCountsTheFileBeingUploadedAndKeepsNothingOfARefusedOne() {
    Api api = new Api(APP.getLocalPort(), "sk-q-bytes");
    HttpResponse<String> first = upload(api, 600);
    assertThat(first.statusCode()).isEqualTo(200);

    HttpResponse<String> over = upload(api, 600);

    assertThat(over.statusCode()).isEqualTo(429);
    assertThat(Api.json(over).get("error").get("message").asText())
        .contains("stores 600 bytes")
        .contains("quota is 1,000 bytes")
        .contains("this file has 600");
    assertThat(listed(api)).isEqualTo(1);
    // Exactly up to the quota is allowed.
    assertThat(upload(api, 400).statusCode()).isEqualTo(200);
    assertThat(upload(api, 1).statusCode()).isEqualTo(429);
  }

  @Test
  void aTenantsOwnFiguresReplaceTheDefaultAndZeroLiftsTheLimit() {
    Api one = new Api(APP.getLocalPort(), "sk-q-one");
    assertThat(upload(one, 10).statusCode()).isEqualTo(200);
    assertThat(upload(one, 10).statusCode()).isEqualTo(429);

    Api free = new Api(APP.getLocalPort(), "sk-q-free");
    for (int i = 0; i < 5; i++) {
      assertThat(upload(free, 10).statusCode()).as("upload %d", i).isEqualTo(200);
    }
  }

  @Test
  void uploadsAtOnceCannotTogetherPassTheQuota() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-q-race");
    List<Integer> statuses = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(12)) {
      List<Future<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        calls.add(pool.submit(() -> upload(api, 10)));
      }
      for (Future<HttpResponse<String>> call : calls) {
        statuses.add(call.get().statusCode());
      }
    }

    assertThat(statuses).containsOnly(200, 429);
    assertThat(statuses.stream().filter(s -> s == 200).count()).isEqualTo(5);
    assertThat(listed(api)).isEqualTo(5);
  }
}
