package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.service.files.TestS3Server;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The API and two workers as separate processes that share nothing but PostgreSQL, Temporal and the
 * S3 server (each has its own data folder and an in-process limiter): a batch starts on the first
 * worker, which is then killed with SIGKILL, and the second finishes it, every custom_id once. The
 * batch is uploaded, created, waited for and read by the official Python openai client.
 */
class S3ClusterIT {
  private static final long MIB = 1024 * 1024;
  private static final String TENANT = TestStack.uniqueTenant("s3-cluster");
  private static final String KEY = "sk-s3-cluster";
  private static final String BUCKET = "gateway-cluster-it";
  private static final int LINES = 600;

  private static final List<GatewayProcess> processes = new ArrayList<>();
  private static TestS3Server s3;

  @BeforeAll
  static void startS3() {
    s3 = TestS3Server.start();
    s3.createBucket(BUCKET);
  }

  @AfterAll
  static void stop() throws Exception {
    for (GatewayProcess process : processes) {
      process.close();
    }
    s3.close();
  }

  private static GatewayProcess start(String role) throws Exception {
    Map<String, String> config = new LinkedHashMap<>();
    config.put("database.url", TestStack.env("BGW_TEST_DB_URL"));
    config.put("database.user", TestStack.env("BGW_TEST_DB_USER"));
    config.put("database.password", TestStack.env("BGW_TEST_DB_PASSWORD"));
    config.put("temporal.target", TestStack.env("BGW_TEST_TEMPORAL"));
    config.put("inference.url", TestStack.env("BGW_TEST_SLOW_INFERENCE_URL"));
    config.put("limiter.type", "local");
    config.put("capacity.mode", "fixed");
    config.put("apiKeys", KEY + ":" + TENANT);
    config.put("logging.level", "WARN");
    config.put("files.type", "s3");
    config.put("files.root", Files.createTempDirectory("bgw-" + role + "-") + "/files");
    config.put("files.s3.endpoint", s3.endpoint());
    config.put("files.s3.bucket", BUCKET);
    config.put("files.s3.pathStyle", "true");
    config.put("files.s3.accessKeyId", TestS3Server.ACCESS_KEY);
    config.put("files.s3.secretAccessKey", TestS3Server.SECRET_KEY);
    config.put("batches.chunkLines", "100");
    config.put("batches.segmentLines", "10");
    config.put("batches.parallelChunks", "4");
    config.put("batches.chunkConcurrency", "8");
    GatewayProcess process = GatewayProcess.start(role, 512 * MIB, config);
    processes.add(process);
    return process;
  }

  /**
   * Starts the Python driver with the project's virtualenv (scripts/test.sh puts it in VIRTUAL_ENV
   * and first on PATH for everything make test runs).
   */
  private static Process openaiDriver(String base, Path input) throws IOException {
    Path script = Files.createTempFile("openai-batch-driver-", ".py");
    try (InputStream in = S3ClusterIT.class.getResourceAsStream("/openai_batch_driver.py")) {
      Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
    }
    String venv = System.getenv("VIRTUAL_ENV");
    String python = venv != null ? venv + "/bin/python" : "python3";
    return new ProcessBuilder(python, script.toString(), base, KEY, input.toString(), "240")
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  @Test
  void aKilledWorkersChunksAreFinishedByTheOtherWithEveryRequestOnce() throws Exception {
    GatewayProcess api = start("api");
    GatewayProcess first = start("worker");
    api.awaitHealthy(Duration.ofMinutes(2));
    first.awaitHealthy(Duration.ofMinutes(2));
    Api client = new Api(api.httpPort, KEY);
    // The batch goes in and comes out through the official Python client, as a user's script.
    Path input = Files.createTempFile("s3-cluster-", ".jsonl");
    Files.writeString(input, Lines.chatFile(LINES, 5, TestStack.model()));
    Process user = openaiDriver("http://127.0.0.1:" + api.httpPort, input);
    BufferedReader said =
        new BufferedReader(new InputStreamReader(user.getInputStream(), StandardCharsets.UTF_8));
    String created = said.readLine();
    assertThat(created).as("the openai client's first line").isNotNull();
    JsonNode ids = Api.parse(created);
    String fileId = ids.get("file_id").asText();
    String id = ids.get("batch_id").asText();

    // The second worker boots while the first one saves its first checkpoint.
    GatewayProcess second = start("worker");
    String batchRoot = StorageKeys.batchRoot(TENANT, id);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (s3.keys(BUCKET).stream()
        .noneMatch(k -> k.startsWith(batchRoot) && k.contains("/seg-"))) {
      assertThat(System.nanoTime()).as("first checkpoint of " + id).isLessThan(deadline);
      Thread.sleep(100);
    }
    second.awaitHealthy(Duration.ofMinutes(2));
    first.process.destroyForcibly().waitFor();

    assertThat(Api.json(client.get("/v1/batches/" + id)).get("status").asText())
        .as("the batch is still running when its first worker dies")
        .isEqualTo("in_progress");
    String ended = said.readLine();
    assertThat(user.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(user.exitValue()).as("openai client: " + ended).isZero();
    JsonNode seen = Api.parse(ended);
    assertThat(seen.get("status").asText()).isEqualTo("completed");
    assertThat(seen.get("completed").asInt()).isEqualTo(LINES);
    List<String> customIds = new ArrayList<>();
    seen.get("custom_ids").forEach(n -> customIds.add(n.asText()));
    assertThat(customIds)
        .as("every custom_id exactly once, as the openai client read them")
        .containsExactlyInAnyOrderElementsOf(
            IntStream.range(0, LINES).mapToObj(i -> "req-" + i).toList());

    JsonNode batch = client.awaitTerminal(id, Duration.ofMinutes(1));
    assertThat(batch.get("status").asText()).isEqualTo("completed");
    List<JsonNode> output = client.lines(batch.get("output_file_id").asText());
    List<JsonNode> errors = client.lines(batch.get("error_file_id").asText(null));
    Invariants.assertHold(
        batch, output, errors, IntStream.range(0, LINES).mapToObj(i -> "req-" + i).toList());
    assertThat(output).hasSize(LINES);
    assertThat(s3.keys(BUCKET)).contains(StorageKeys.file(TENANT, fileId));
  }
}
