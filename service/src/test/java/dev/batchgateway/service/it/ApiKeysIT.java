package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayApplication;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Keys made, listed and revoked with the jar's {@code keys} command, run as a process of its own as
 * an operator runs it, against the gateway and the test stack's PostgreSQL.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class ApiKeysIT {
  private static final String FIXED_TENANT = TestStack.uniqueTenant("keys-fixed");
  private static final String TENANT = TestStack.uniqueTenant("keys");

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-keys-fixed:" + FIXED_TENANT,
          "BGW_TEST_INFERENCE_URL",
          ConfigOverride.config("trustedHeader.header", "X-Authenticated-Tenant"),
          ConfigOverride.config("trustedHeader.proxies", "127.0.0.1/32"));

  record Run(int exit, String output) {}

  @Test
  void aCreatedKeyWorksIsStoredOnlyAsAHashAndIsRefusedWithinFiveSecondsOfItsRevocation()
      throws Exception {
    Run created = keys("create", "--tenant", TENANT);
    assertThat(created.exit()).as(created.output()).isZero();
    String key =
        created
            .output()
            .lines()
            .filter(line -> line.startsWith("sk-bgw-"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no key printed:\n" + created.output()));
    String id = key.substring("sk-bgw-".length(), "sk-bgw-".length() + 12);
    String secret = key.substring("sk-bgw-".length() + 13);

    Api api = new Api(APP.getLocalPort(), key);
    HttpResponse<String> upload =
        api.upload(
            "keys.jsonl",
            "{\"a\":1}\n".getBytes(StandardCharsets.UTF_8),
            Map.of("purpose", "batch"),
            false);
    assertThat(upload.statusCode()).as(upload.body()).isEqualTo(200);
    String fileId = Api.json(upload).get("id").asText();
    assertThat(api.get("/v1/files/" + fileId).statusCode()).isEqualTo(200);
    // The key acts for its own tenant only.
    Api fixed = api.withKey("sk-keys-fixed");
    assertThat(fixed.get("/v1/files/" + fileId).statusCode()).isEqualTo(404);

    String everyRow = everyRowOfTheDatabase();
    assertThat(everyRow).contains(id).contains(TENANT);
    assertThat(everyRow)
        .doesNotContain(secret)
        .doesNotContain(key)
        .doesNotContainIgnoringCase(
            HexFormat.of().formatHex(secret.getBytes(StandardCharsets.US_ASCII)));

    Run listed = keys("list", "--tenant", TENANT);
    assertThat(listed.exit()).as(listed.output()).isZero();
    assertThat(listed.output()).contains(TENANT).doesNotContain(secret);
    assertThat(revokedColumn(listed.output(), id)).isEqualTo("-");

    // A second gateway, a process of its own (the API role, as a separate deployment runs it),
    // caches the key too: the revocation must reach every process.
    try (GatewayProcess other = otherGateway()) {
      Api otherApi = new Api(other.httpPort, key);
      assertThat(otherApi.get("/v1/files?limit=1").statusCode()).isEqualTo(200);

      // Requests keep coming to both while the key is revoked, so each gateway's cached row is
      // fresh at that moment: the worst case for how long a revoked key still works.
      AtomicBoolean revoking = new AtomicBoolean(true);
      Thread traffic =
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (revoking.get()) {
                      api.get("/v1/files/" + fileId);
                      otherApi.get("/v1/files?limit=1");
                      try {
                        Thread.sleep(50);
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  });
      Run revoked = keys("revoke", id);
      revoking.set(false);
      traffic.join();
      assertThat(revoked.exit()).as(revoked.output()).isZero();
      long revokedAt = System.nanoTime();
      long refusedHere = refusedAfterMillis(() -> api.get("/v1/files/" + fileId), revokedAt);
      long refusedThere = refusedAfterMillis(() -> otherApi.get("/v1/files?limit=1"), revokedAt);
      System.out.println(
          "ApiKeysIT: revoked key refused "
              + refusedHere
              + " ms (this gateway) and "
              + refusedThere
              + " ms (another process) after revoke");
      assertThat(refusedHere).isLessThan(5000);
      assertThat(refusedThere).isLessThan(5000);
    }

    // Two more runs of the command, side by side: a JVM each takes seconds.
    CompletableFuture<Run> listedAgain = inBackground("list", "--tenant", TENANT);
    CompletableFuture<Run> revokedAgain = inBackground("revoke", id);
    assertThat(revokedColumn(listedAgain.get().output(), id)).isNotEqualTo("-");
    assertThat(revokedAgain.get().exit()).isNotZero();
  }

  @Test
  void missingMalformedAndUnknownCredentialsAre401sAndNeverADefaultTenant() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI files = URI.create("http://127.0.0.1:" + APP.getLocalPort() + "/v1/files");
    List<HttpRequest> requests = new ArrayList<>();
    requests.add(HttpRequest.newBuilder(files).build());
    requests.add(HttpRequest.newBuilder(files).header("Authorization", "Bearer ").build());
    requests.add(HttpRequest.newBuilder(files).header("Authorization", "Basic c2s6c2s=").build());
    requests.add(
        HttpRequest.newBuilder(files)
            .header("Authorization", "Bearer sk-bgw-aaaaaaaaaaaa-" + "A".repeat(43))
            .build());
    requests.add(HttpRequest.newBuilder(files).header("Authorization", "Bearer sk-local").build());
    for (HttpRequest request : requests) {
      assertUnauthorized(http.send(request, HttpResponse.BodyHandlers.ofString()));
    }
  }

  /**
   * The proxy is 127.0.0.1: from there the header names the tenant; from 127.0.0.2 (another
   * loopback address, so another peer) it is ignored and the request needs a key.
   */
  @Test
  void theTrustedHeaderCountsOnlyOnConnectionsFromTheProxy() throws Exception {
    URI files = URI.create("http://127.0.0.1:" + APP.getLocalPort() + "/v1/files");
    HttpRequest proxied =
        HttpRequest.newBuilder(files).header("X-Authenticated-Tenant", FIXED_TENANT).build();
    HttpClient fromProxy =
        HttpClient.newBuilder().localAddress(InetAddress.getByName("127.0.0.1")).build();
    HttpResponse<String> trusted = fromProxy.send(proxied, HttpResponse.BodyHandlers.ofString());
    assertThat(trusted.statusCode()).as(trusted.body()).isEqualTo(200);

    HttpClient elsewhere =
        HttpClient.newBuilder().localAddress(InetAddress.getByName("127.0.0.2")).build();
    assertUnauthorized(elsewhere.send(proxied, HttpResponse.BodyHandlers.ofString()));
    HttpResponse<String> withKey =
        elsewhere.send(
            HttpRequest.newBuilder(files)
                .header("X-Authenticated-Tenant", "someone-else")
                .header("Authorization", "Bearer sk-keys-fixed")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(withKey.statusCode()).as(withKey.body()).isEqualTo(200);

    assertUnauthorized(
        fromProxy.send(
            HttpRequest.newBuilder(files).header("X-Authenticated-Tenant", "no/such").build(),
            HttpResponse.BodyHandlers.ofString()));
  }

  /**
   * Milliseconds from {@code since} until {@code call} answers 401 (checked as an OpenAI
   * authentication error); fails if it still answers anything else after 6 seconds.
   */
  private static long refusedAfterMillis(
      java.util.function.Supplier<HttpResponse<String>> call, long since)
      throws InterruptedException {
    HttpResponse<String> response = call.get();
    while (response.statusCode() == 200 && System.nanoTime() - since < 6_000_000_000L) {
      Thread.sleep(100);
      response = call.get();
    }
    long millis = (System.nanoTime() - since) / 1_000_000;
    assertUnauthorized(response);
    return millis;
  }

  /** A gateway with the API role in a JVM of its own, on the test stack. */
  private static GatewayProcess otherGateway() throws Exception {
    Map<String, String> config = new java.util.LinkedHashMap<>();
    config.put("database.url", TestStack.env("BGW_TEST_DB_URL"));
    config.put("database.user", TestStack.env("BGW_TEST_DB_USER"));
    config.put("database.password", TestStack.env("BGW_TEST_DB_PASSWORD"));
    config.put("temporal.target", TestStack.env("BGW_TEST_TEMPORAL"));
    config.put("inference.url", TestStack.env("BGW_TEST_INFERENCE_URL"));
    config.put("limiter.type", "local");
    config.put("capacity.mode", "fixed");
    config.put("apiKeys", "sk-keys-other:" + FIXED_TENANT);
    config.put("logging.level", "WARN");
    config.put("files.root", java.nio.file.Files.createTempDirectory("bgw-keys-api-") + "/files");
    GatewayProcess process = GatewayProcess.start("api", 512L << 20, config);
    try {
      return process.awaitHealthy(java.time.Duration.ofSeconds(90));
    } catch (Exception | AssertionError e) {
      process.close();
      throw e;
    }
  }

  private static void assertUnauthorized(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(401);
    JsonNode error = Api.json(response).get("error");
    assertThat(error.get("type").asText()).isEqualTo("authentication_error");
    assertThat(error.get("code").asText()).isEqualTo("invalid_api_key");
    assertThat(error.get("message").asText()).isNotBlank();
  }

  /** The REVOKED column of key {@code id} in the output of {@code keys list}. */
  private static String revokedColumn(String listing, String id) {
    String line =
        listing
            .lines()
            .filter(l -> l.startsWith(id + " "))
            .findFirst()
            .orElseThrow(() -> new AssertionError("key " + id + " not listed:\n" + listing));
    return line.trim().split("\\s+")[2];
  }

  /** Every row of every table in the gateway's schema, as PostgreSQL prints it. */
  static String everyRowOfTheDatabase() {
    Jdbi jdbi =
        Jdbi.create(
            TestStack.env("BGW_TEST_DB_URL"),
            TestStack.env("BGW_TEST_DB_USER"),
            TestStack.env("BGW_TEST_DB_PASSWORD"));
    return jdbi.withHandle(
        handle -> {
          List<String> tables =
              handle
                  .createQuery(
                      "SELECT table_name FROM information_schema.tables"
                          + " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
                  .mapTo(String.class)
                  .list();
          assertThat(tables).contains("api_keys", "files", "batches");
          StringBuilder rows = new StringBuilder();
          for (String table : tables) {
            handle
                .createQuery("SELECT t::text FROM \"" + table + "\" t")
                .mapTo(String.class)
                .forEach(row -> rows.append(row).append('\n'));
          }
          return rows.toString();
        });
  }

  static CompletableFuture<Run> inBackground(String... args) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return keys(args);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
          }
        });
  }

  /** The jar's {@code keys} command in a JVM of its own, as an operator runs it. */
  static Run keys(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("-Ddw.database.url=" + TestStack.env("BGW_TEST_DB_URL"));
    command.add("-Ddw.database.user=" + TestStack.env("BGW_TEST_DB_USER"));
    command.add("-Ddw.database.password=" + TestStack.env("BGW_TEST_DB_PASSWORD"));
    command.add("-Ddw.logging.level=WARN");
    command.add(BatchGatewayApplication.class.getName());
    command.add("keys");
    command.addAll(List.of(args));
    command.add("config/gateway.yml");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("keys " + String.join(" ", args) + " did not end");
    }
    return new Run(process.exitValue(), new String(output, StandardCharsets.UTF_8));
  }
}
