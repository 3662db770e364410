package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tenant quotas on the real stack, against the slow simulator so that batches are still running
 * when the next create comes: each limit answers 429 in the envelope and frees up again, a refused
 * create leaves no row and no workflow, one tenant's exhausted quota leaves another's alone, and
 * per-tenant figures replace the defaults.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class QuotasIT {
  private static final String ACTIVE = TestStack.uniqueTenant("q-active");
  private static final String QUEUED = TestStack.uniqueTenant("q-queued");
  private static final String BIG = TestStack.uniqueTenant("q-big");
  private static final String RACE = TestStack.uniqueTenant("q-race");
  private static final String RATE = TestStack.uniqueTenant("q-rate");
  private static final String OTHER = TestStack.uniqueTenant("q-other");

  /** Long enough on the slow simulator to be running still when the test acts. */
  private static final int LONG_LINES = 600;

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          String.join(
              ",",
              "sk-q-active:" + ACTIVE,
              "sk-q-queued:" + QUEUED,
              "sk-q-big:" + BIG,
              "sk-q-race:" + RACE,
              "sk-q-rate:" + RATE,
              "sk-q-other:" + OTHER),
          "BGW_TEST_SLOW_INFERENCE_URL",
          // Defaults every tenant of this test has unless its own figures say otherwise.
          ConfigOverride.config("quotas.maxActiveBatches", "5"),
          ConfigOverride.config("quotas.maxQueuedRequests", "2000"),
          ConfigOverride.config("quotas.requestsPerSecond", "1000"),
          ConfigOverride.config("quotas.burst", "1000"),
          ConfigOverride.config("quotas.tenants." + ACTIVE + ".maxActiveBatches", "2"),
          ConfigOverride.config("quotas.tenants." + QUEUED + ".maxQueuedRequests", "200"),
          ConfigOverride.config("quotas.tenants." + BIG + ".maxQueuedRequests", "5000"),
          ConfigOverride.config("quotas.tenants." + RACE + ".maxActiveBatches", "3"),
          ConfigOverride.config("quotas.tenants." + RATE + ".requestsPerSecond", "1"),
          ConfigOverride.config("quotas.tenants." + RATE + ".burst", "3"));

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

  private static Api api(String key) {
    return new Api(APP.getLocalPort(), key);
  }

  private static String upload(Api api, int lines) {
    return api.uploadBatchFile(Lines.chatFile(lines, 3, TestStack.model()));
  }

  private static HttpResponse<String> create(Api api, String fileId) {
    return api.post(
        "/v1/batches",
        "{\"input_file_id\":\""
            + fileId
            + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}");
  }

  private static String created(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return Api.json(response).get("id").asText();
  }

  /** A 429 in the envelope, with the code and telling clients not to retry on their own. */
  private static JsonNode assertQuotaRefusal(HttpResponse<String> response, String code) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(429);
    assertThat(response.headers().firstValue("x-should-retry")).hasValue("false");
    JsonNode error = Api.json(response).get("error");
    assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
    assertThat(error.get("code").asText()).isEqualTo(code);
    assertThat(error.has("param")).isTrue();
    return error;
  }

  private static int listed(Api api) {
    return Api.json(api.get("/v1/batches?limit=100")).get("data").size();
  }

  private static void cancel(Api api, String id) throws InterruptedException {
    assertThat(api.post("/v1/batches/" + id + "/cancel", "{}").statusCode()).isEqualTo(200);
    assertThat(api.awaitTerminal(id, Duration.ofSeconds(60)).get("status").asText())
        .isEqualTo("cancelled");
  }

  /** The tenant's workflows in Temporal, once visibility has caught up with {@code expected}. */
  private static int workflowsOf(String tenant, int expected) throws InterruptedException {
    String query = "BatchTenant = '" + tenant + "'";
    int found = TestStack.countWorkflows(temporal, query);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (found < expected && System.nanoTime() < deadline) {
      Thread.sleep(200);
      found = TestStack.countWorkflows(temporal, query);
    }
    return found;
  }

  @Test
  void theActiveBatchLimitFreesWhenABatchCompletesOrIsCancelled() throws Exception {
    Api api = api("sk-q-active");
    String small = created(create(api, upload(api, 4)));
    String longOne = created(create(api, upload(api, LONG_LINES)));

    HttpResponse<String> over = create(api, upload(api, 4));

    JsonNode error = assertQuotaRefusal(over, "active_batch_limit_exceeded");
    assertThat(error.get("message").asText())
        .contains("'" + ACTIVE + "' has 2 unfinished batches")
        .contains("maxActiveBatches 2")
        .contains("cancel one");
    assertThat(listed(api)).isEqualTo(2);
    assertThat(workflowsOf(ACTIVE, 2)).isEqualTo(2);

    // Another tenant is not held back by this one's full quota.
    Api other = api("sk-q-other");
    String othersBatch = created(create(other, upload(other, 4)));

    assertThat(api.awaitTerminal(small, Duration.ofSeconds(90)).get("status").asText())
        .isEqualTo("completed");
    String third = created(create(api, upload(api, LONG_LINES)));
    assertQuotaRefusal(create(api, upload(api, 4)), "active_batch_limit_exceeded");

    cancel(api, longOne);
    String fourth = created(create(api, upload(api, 4)));
    assertThat(listed(api)).isEqualTo(4);
    assertThat(workflowsOf(ACTIVE, 4)).isEqualTo(4);

    cancel(api, third);
    api.awaitTerminal(fourth, Duration.ofSeconds(90));
    other.awaitTerminal(othersBatch, Duration.ofSeconds(90));
  }

  @Test
  void theQueuedRequestLimitCountsTheNewBatchAndFreesWhenABatchFinishes() throws Exception {
    Api api = api("sk-q-queued");
    String first = created(create(api, upload(api, 150)));
    // Blank lines are not requests: 150 + 50 is exactly the limit of 200.
    String withBlanks =
        api.uploadBatchFile(Lines.chatFile(50, 2, TestStack.model()).replace("\n", "\n\n  \n"));
    String second = created(create(api, withBlanks));

    String next = upload(api, 1);
    HttpResponse<String> over = create(api, next);

    JsonNode error = assertQuotaRefusal(over, "queued_request_limit_exceeded");
    assertThat(error.get("message").asText())
        .contains("'" + QUEUED + "' has 200 requests in unfinished batches")
        .contains("adds 1;")
        .contains("200 queued requests");
    assertThat(error.get("param").asText()).isEqualTo("input_file_id");
    assertThat(listed(api)).isEqualTo(2);
    assertThat(workflowsOf(QUEUED, 2)).isEqualTo(2);

    assertThat(api.awaitTerminal(first, Duration.ofSeconds(120)).get("status").asText())
        .isEqualTo("completed");
    String third = created(create(api, next));
    assertThat(workflowsOf(QUEUED, 3)).isEqualTo(3);

    // A batch larger than the whole quota is told to split, not to wait.
    HttpResponse<String> tooBig = create(api, upload(api, 201));
    assertThat(assertQuotaRefusal(tooBig, "queued_request_limit_exceeded").get("message").asText())
        .contains("This batch has 201 requests")
        .contains("Split");

    api.awaitTerminal(second, Duration.ofSeconds(90));
    api.awaitTerminal(third, Duration.ofSeconds(90));
  }

  @Test
  void aTenantsOwnFigureRaisesTheDefault() throws Exception {
    // 2,500 requests: over the default of 2,000, within BIG's own 5,000.
    Api big = api("sk-q-big");
    String id = created(create(big, upload(big, 2500)));

    Api other = api("sk-q-other");
    assertQuotaRefusal(create(other, upload(other, 2500)), "queued_request_limit_exceeded");

    cancel(big, id);
  }

  @Test
  void createsAtOnceCannotTogetherPassTheActiveBatchLimit() throws Exception {
    Api api = api("sk-q-race");
    List<String> files = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      files.add(upload(api, 300));
    }
    List<HttpResponse<String>> answers = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(files.size())) {
      List<Future<HttpResponse<String>>> calls = new ArrayList<>();
      for (String file : files) {
        calls.add(pool.submit(() -> create(api, file)));
      }
      for (Future<HttpResponse<String>> call : calls) {
        answers.add(call.get());
      }
    }

    List<String> accepted = new ArrayList<>();
    for (HttpResponse<String> answer : answers) {
      if (answer.statusCode() == 200) {
        accepted.add(Api.json(answer).get("id").asText());
      } else {
        assertQuotaRefusal(answer, "active_batch_limit_exceeded");
      }
    }
    assertThat(accepted).hasSize(3);
    assertThat(listed(api)).isEqualTo(3);
    assertThat(workflowsOf(RACE, 3)).isEqualTo(3);
    for (String id : accepted) {
      cancel(api, id);
    }
  }

  @Test
  void theRateLimitAnswersWithRetryAfterAndFreesAfterWaitingIt() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    // Burst of 3, then 1 per second; a 429 costs nothing, so a tight loop must be refused.
    List<Integer> statuses = new ArrayList<>();
    HttpResponse<String> refused = null;
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> response = get(http, "sk-q-rate", "/v1/batches");
      statuses.add(response.statusCode());
      if (response.statusCode() == 429) {
        refused = response;
      }
    }
    assertThat(statuses.subList(0, 3)).containsOnly(200);
    assertThat(refused).as("the fourth call within a second is refused").isNotNull();
    assertThat(refused.headers().firstValue("x-should-retry")).hasValue("true");
    long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
    assertThat(retryAfter).isBetween(1L, 2L);
    JsonNode error = Api.json(refused).get("error");
    assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
    assertThat(error.get("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(error.get("message").asText())
        .contains("'" + RATE + "'")
        .contains("requestsPerSecond 1, burst 3")
        .contains("Retry after " + retryAfter + " second");

    // Another tenant's calls go through meanwhile.
    assertThat(get(http, "sk-q-other", "/v1/batches").statusCode()).isEqualTo(200);
    // The document every client may read is not counted.
    assertThat(get(http, "sk-q-rate", "/v1/openapi.yaml").statusCode()).isEqualTo(200);

    Thread.sleep(retryAfter * 1000);
    assertThat(get(http, "sk-q-rate", "/v1/batches").statusCode()).isEqualTo(200);
  }

  private static HttpResponse<String> get(HttpClient http, String key, String path)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + APP.getLocalPort() + path))
            .header("Authorization", "Bearer " + key)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
