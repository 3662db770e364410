package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.workflow.v1.WorkflowExecutionInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.api.workflowservice.v1.ListWorkflowExecutionsRequest;
import io.temporal.api.workflowservice.v1.ListWorkflowExecutionsResponse;
import io.temporal.client.WorkflowClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A real run through a gateway holding secrets of four kinds: a fixed API key ({@code
 * BGW_API_KEYS}), a key made with the jar's {@code keys create}, the inference pool's backend keys
 * (one from an environment variable, {@code apiKeyEnv}, one from a file, {@code apiKeyFile}) and
 * the password of its Redis user, in {@code BGW_REDIS_URL}. The pool also has a server failing half
 * its requests and one refusing connections, so error lines are written and logged. Afterwards none
 * of the secrets, nor their hex or base64 forms, is in the gateway's log, any row of PostgreSQL,
 * any key or value in Redis, any workflow history started during the run, any file the gateway
 * stored, or any answer of the API or the admin port. (The test stack's database password is the
 * role's name, so it cannot be searched for.)
 */
class SecretsStayOutIT {
  private static final long MIB = 1024 * 1024;
  private static final String FIXED_TENANT = TestStack.uniqueTenant("secrets-fixed");
  private static final String MADE_TENANT = TestStack.uniqueTenant("secrets-made");
  private static final int LINES = 40;

  @Test
  void noSecretReachesTheLogTheDatabaseRedisTemporalTheFilesOrTheApi() throws Exception {
    Instant started = Instant.now().minusSeconds(2).truncatedTo(ChronoUnit.SECONDS);
    String fixedKey = "sk-fixed-" + randomText(32);
    String envBackendKey = "bk-env-" + randomText(32);
    String fileBackendKey = "bk-file-" + randomText(32);
    Map<String, String> secrets = new LinkedHashMap<>();
    secrets.put("the fixed API key", fixedKey);
    secrets.put("the backend key from the environment", envBackendKey);
    secrets.put("the backend key from a file", fileBackendKey);
    // Redis: a user of its own with a password, given in the URL as operators may.
    String redisUrl = TestStack.env("BGW_TEST_REDIS_URL");
    String redisUser = "bgw-secrets-" + randomText(8).toLowerCase(Locale.ROOT);
    String redisPassword = "rp-" + randomText(32);
    secrets.put("the Redis password", redisPassword);
    RedisContents.command(
        redisUrl, "ACL", "SETUSER", redisUser, "on", ">" + redisPassword, "~*", "&*", "+@all");
    URI redis = URI.create(redisUrl);
    String redisUrlWithPassword =
        "redis://"
            + redisUser
            + ":"
            + redisPassword
            + "@"
            + redis.getHost()
            + ":"
            + redis.getPort();

    Path work = Files.createTempDirectory("bgw-secrets-");
    Path keyFile = work.resolve("backend.key");
    Files.writeString(keyFile, fileBackendKey + "\n");
    Path filesRoot = work.resolve("files");
    StringBuilder answers = new StringBuilder();
    List<String> batchIds = new ArrayList<>();
    String log;
    try (RecordingProxy plain = new RecordingProxy(TestStack.env("BGW_TEST_INFERENCE_URL"));
        RecordingProxy faulty =
            new RecordingProxy(TestStack.env("BGW_TEST_FAULTY_INFERENCE_URL"))) {
      Path config =
          config(work, plain.url(), faulty.url(), "http://127.0.0.1:" + closedPort(), keyFile);
      Map<String, String> settings = new LinkedHashMap<>();
      settings.put("database.url", TestStack.env("BGW_TEST_DB_URL"));
      settings.put("database.user", TestStack.env("BGW_TEST_DB_USER"));
      settings.put("database.password", TestStack.env("BGW_TEST_DB_PASSWORD"));
      settings.put("temporal.target", TestStack.env("BGW_TEST_TEMPORAL"));
      settings.put("files.root", filesRoot.toString());
      settings.put("capacity.mode", "fixed");
      settings.put("batches.maxAttempts", "1");
      // As production passes them: in the environment, not on the command line.
      Map<String, String> env =
          Map.of(
              "BGW_API_KEYS",
              fixedKey + ":" + FIXED_TENANT,
              "BGW_TEST_BACKEND_KEY",
              envBackendKey,
              "BGW_REDIS_URL",
              redisUrlWithPassword,
              "BGW_REQUEST_LOG_LEVEL",
              "INFO");
      GatewayProcess gateway = GatewayProcess.start("server", 512 * MIB, settings, config, env);
      try {
        // The key is made while the gateway starts (a JVM each takes seconds); the gateway finds a
        // key made after its start as it finds one made before.
        CompletableFuture<ApiKeysIT.Run> making =
            ApiKeysIT.inBackground("create", "--tenant", MADE_TENANT);
        gateway.awaitHealthy(Duration.ofMinutes(2));
        ApiKeysIT.Run made = making.get(2, TimeUnit.MINUTES);
        assertThat(made.exit()).as(made.output()).isZero();
        String madeKey =
            made.output()
                .lines()
                .filter(line -> line.startsWith("sk-bgw-"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no key printed:\n" + made.output()));
        secrets.put("the made API key", madeKey);
        secrets.put("the secret part of the made API key", madeKey.substring(20));
        Api fixed = new Api(gateway.httpPort, fixedKey);
        Api mine = fixed.withKey(madeKey);

        String fixedFile = upload(fixed, Lines.chatFile(LINES, 3, TestStack.model()), answers);
        batchIds.add(create(fixed, fixedFile, answers));
        String madeFile = upload(mine, Lines.chatFile(LINES, 3, TestStack.model()), answers);
        batchIds.add(create(mine, madeFile, answers));
        // Failing paths: a model no server has fails the batch; bad requests and a wrong key.
        String unknownModel =
            upload(mine, Lines.chatFile(3, 1, "no-such-model-" + randomText(6)), answers);
        batchIds.add(create(mine, unknownModel, answers));
        record(
            answers,
            fixed.post(
                "/v1/batches",
                "{\"input_file_id\":\"file-nothere\",\"endpoint\":\"/v1/chat/completions\","
                    + "\"completion_window\":\"24h\"}"),
            400);
        record(answers, mine.post("/v1/batches", "{\"input_file_id\":"), 400);
        record(answers, fixed.withKey(fixedKey + "x").get("/v1/files"), 401);
        record(answers, fixed.withKey(madeKey.substring(0, 20)).get("/v1/batches"), 401);

        List<JsonNode> errorLines = new ArrayList<>();
        Set<String> statuses = new java.util.HashSet<>();
        for (String id : batchIds) {
          Api owner = id.equals(batchIds.get(0)) ? fixed : mine;
          JsonNode batch = owner.awaitTerminal(id, Duration.ofSeconds(40));
          answers.append(batch).append('\n');
          statuses.add(batch.get("status").asText());
          for (String field : List.of("output_file_id", "error_file_id")) {
            String fileId = batch.get(field).asText(null);
            if (fileId != null) {
              List<JsonNode> lines = owner.lines(fileId);
              lines.forEach(line -> answers.append(line).append('\n'));
              if (field.equals("error_file_id")) {
                errorLines.addAll(lines);
              }
            }
          }
          record(answers, owner.get("/v1/batches?limit=100"), 200);
          record(answers, owner.get("/v1/files?limit=100"), 200);
        }
        // The admin port's answers too: metrics (labels), health checks, thread dump.
        Api admin = new Api(gateway.adminPort, null);
        for (String path : List.of("/metrics", "/metrics.json", "/healthcheck", "/threads")) {
          record(answers, admin.get(path), 200);
        }
        assertThat(statuses).contains("completed", "failed");
        assertThat(errorLines).as("error lines from the failing server").isNotEmpty();
        // The keys did reach the servers: each endpoint got its own.
        assertThat(plain.authorizations()).containsExactly("Bearer " + envBackendKey);
        assertThat(faulty.authorizations()).containsExactly("Bearer " + fileBackendKey);
      } finally {
        // A clean stop first, so the log holds everything up to the shutdown.
        gateway.close();
        log = Files.readString(gateway.log, StandardCharsets.UTF_8);
      }
    }

    RedisContents.command(redisUrl, "ACL", "DELUSER", redisUser);

    assertThat(log).contains("/v1/batches").contains("refused the connection");
    assertNoSecret("the gateway's log", log, secrets);

    String rows = ApiKeysIT.everyRowOfTheDatabase();
    assertThat(rows).contains(batchIds).contains(FIXED_TENANT, MADE_TENANT);
    assertNoSecret("the database", rows, secrets);

    String redisDump = RedisContents.everything(redisUrl);
    assertThat(redisDump).contains("bgw:pool:secrets:permits");
    assertNoSecret("Redis", redisDump, secrets);

    String histories = workflowsSince(started, batchIds);
    assertThat(histories).contains(FIXED_TENANT, MADE_TENANT);
    assertNoSecret("the workflow histories", histories, secrets);

    String stored = everyStoredFile(filesRoot);
    assertThat(stored).contains("req-0");
    assertNoSecret("the stored files", stored, secrets);

    assertThat(answers.toString()).contains("batch_").contains("invalid_api_key");
    assertNoSecret("the API's answers", answers.toString(), secrets);
    System.out.printf(
        "SecretsStayOutIT: searched %,d log, %,d database, %,d Redis, %,d Temporal, %,d file and"
            + " %,d answer characters%n",
        log.length(),
        rows.length(),
        redisDump.length(),
        histories.length(),
        stored.length(),
        answers.length());
  }

  /**
   * The secret as it is, in hex and in base64, none of them anywhere in {@code text} (compared
   * without case). A find fails with the text around it, not the whole text.
   */
  private static void assertNoSecret(String where, String text, Map<String, String> secrets) {
    String haystack = text.toLowerCase(Locale.ROOT);
    secrets.forEach(
        (name, secret) -> {
          byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
          for (String form :
              List.of(
                  secret,
                  HexFormat.of().formatHex(bytes),
                  Base64.getEncoder().withoutPadding().encodeToString(bytes),
                  Base64.getUrlEncoder().withoutPadding().encodeToString(bytes))) {
            int at = haystack.indexOf(form.toLowerCase(Locale.ROOT));
            if (at >= 0) {
              throw new AssertionError(
                  name
                      + " ("
                      + (form.equals(secret) ? "as it is" : "encoded as " + form)
                      + ") is in "
                      + where
                      + ": ..."
                      + text.substring(
                          Math.max(0, at - 200), Math.min(text.length(), at + form.length() + 50))
                      + "...");
            }
          }
        });
  }

  private static String upload(Api api, String content, StringBuilder answers) {
    HttpResponse<String> response =
        api.upload(
            "input.jsonl",
            content.getBytes(StandardCharsets.UTF_8),
            Map.of("purpose", "batch"),
            true);
    record(answers, response, 200);
    return Api.json(response).get("id").asText();
  }

  private static String create(Api api, String fileId, StringBuilder answers) {
    HttpResponse<String> response =
        api.post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}");
    record(answers, response, 200);
    return Api.json(response).get("id").asText();
  }

  private static void record(StringBuilder answers, HttpResponse<String> response, int status) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    answers.append(response.headers().map()).append('\n').append(response.body()).append('\n');
  }

  /**
   * The shipped gateway.yml with the inference shorthand replaced by one pool of three endpoints:
   * the simulator (key from the environment), the failing simulator (key from a file) and a port
   * nobody listens on; and the project's own loggers at DEBUG.
   */
  private static Path config(
      Path work, String plainUrl, String faultyUrl, String deadUrl, Path keyFile)
      throws IOException {
    YAMLMapper yaml = new YAMLMapper();
    ObjectNode root = (ObjectNode) yaml.readTree(Path.of("config/gateway.yml").toFile());
    ObjectNode inference = (ObjectNode) root.get("inference");
    inference.remove("url");
    inference.remove("models");
    ObjectNode pool = inference.putArray("pools").addObject();
    pool.put("name", "secrets");
    pool.putArray("models").add(TestStack.model());
    pool.put("endpointCooldown", "1s");
    ArrayNode endpoints = pool.putArray("endpoints");
    endpoints.addObject().put("url", plainUrl).put("apiKeyEnv", "BGW_TEST_BACKEND_KEY");
    endpoints.addObject().put("url", faultyUrl).put("apiKeyFile", keyFile.toString());
    endpoints.addObject().put("url", deadUrl).put("apiKeyEnv", "BGW_TEST_BACKEND_KEY");
    ((ObjectNode) root.get("logging").get("loggers")).put("dev.batchgateway", "DEBUG");
    Path config = work.resolve("gateway.yml");
    yaml.writeValue(config.toFile(), root);
    return config;
  }

  /**
   * Every workflow started since {@code since}, each run's whole history and its description (memo,
   * search attributes), as text. Visibility lags, so the listing is read again until it holds every
   * batch of the test.
   */
  private static String workflowsSince(Instant since, List<String> mustInclude)
      throws InterruptedException {
    WorkflowServiceStubs temporal =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder()
                .setTarget(TestStack.env("BGW_TEST_TEMPORAL"))
                .validateAndBuildWithDefaults());
    try {
      List<WorkflowExecutionInfo> executions = List.of();
      for (int i = 0; i < 100; i++) {
        executions = listSince(temporal, since);
        if (executions.stream()
            .map(e -> e.getExecution().getWorkflowId())
            .toList()
            .containsAll(mustInclude)) {
          break;
        }
        Thread.sleep(100);
      }
      assertThat(executions.stream().map(e -> e.getExecution().getWorkflowId()))
          .containsAll(mustInclude);
      WorkflowClient client = WorkflowClient.newInstance(temporal);
      StringBuilder text = new StringBuilder();
      for (WorkflowExecutionInfo info : executions) {
        WorkflowExecution execution = info.getExecution();
        text.append(info).append('\n');
        text.append(
                temporal
                    .blockingStub()
                    .describeWorkflowExecution(
                        DescribeWorkflowExecutionRequest.newBuilder()
                            .setNamespace("default")
                            .setExecution(execution)
                            .build()))
            .append('\n');
        text.append(
                client.fetchHistory(execution.getWorkflowId(), execution.getRunId()).getHistory())
            .append('\n');
      }
      return text.toString();
    } finally {
      temporal.shutdown();
    }
  }

  private static List<WorkflowExecutionInfo> listSince(
      WorkflowServiceStubs temporal, Instant since) {
    List<WorkflowExecutionInfo> all = new ArrayList<>();
    com.google.protobuf.ByteString page = com.google.protobuf.ByteString.EMPTY;
    do {
      ListWorkflowExecutionsResponse response =
          temporal
              .blockingStub()
              .listWorkflowExecutions(
                  ListWorkflowExecutionsRequest.newBuilder()
                      .setNamespace("default")
                      .setQuery("StartTime >= '" + since + "'")
                      .setNextPageToken(page)
                      .build());
      all.addAll(response.getExecutionsList());
      page = response.getNextPageToken();
    } while (!page.isEmpty());
    return all;
  }

  /** Every file under the gateway's file store, bytes as Latin-1 characters. */
  private static String everyStoredFile(Path root) throws IOException {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        all.append(file)
            .append('\n')
            .append(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1))
            .append('\n');
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return all.toString();
  }

  private static String randomText(int length) {
    String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    SecureRandom random = new SecureRandom();
    StringBuilder text = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      text.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return text.toString();
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
