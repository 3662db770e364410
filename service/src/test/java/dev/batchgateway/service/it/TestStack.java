package dev.batchgateway.service.it;

import dev.batchgateway.service.BatchGatewayApplication;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The real services the integration tests run against. {@code make test} starts PostgreSQL, the
 * Temporal dev server, Redis and the inference simulators and exports where they listen.
 */
final class TestStack {
  private TestStack() {}

  static String env(String name) {
    String value = System.getenv(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException(
          name
              + " is not set. Integration tests need the local stack: run them through"
              + " `make test` (scripts/test.sh), which starts and exports it.");
    }
    return value;
  }

  static String model() {
    return env("BGW_TEST_MODEL");
  }

  /** A tenant name no other test run shares, so tests never see each other's objects. */
  static String uniqueTenant(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * How many workflows match a visibility query. Visibility is eventually consistent, so the query
   * is retried for a few seconds while it finds none.
   */
  static int countWorkflows(io.temporal.serviceclient.WorkflowServiceStubs temporal, String query)
      throws InterruptedException {
    int found = 0;
    for (int i = 0; i < 50 && found == 0; i++) {
      found =
          temporal
              .blockingStub()
              .listWorkflowExecutions(
                  io.temporal.api.workflowservice.v1.ListWorkflowExecutionsRequest.newBuilder()
                      .setNamespace("default")
                      .setQuery(query)
                      .build())
              .getExecutionsCount();
      if (found == 0) {
        Thread.sleep(100);
      }
    }
    return found;
  }

  /**
   * A whole gateway (API and worker) on random ports, against the given inference server.
   *
   * @param apiKeys {@code key:tenant} pairs
   */
  static DropwizardAppExtension<BatchGatewayConfiguration> gateway(
      String apiKeys, String inferenceUrlVariable, ConfigOverride... extra) {
    return gateway(apiKeys, () -> env(inferenceUrlVariable), "fixed", extra);
  }

  /** As {@link #gateway(String, String, ConfigOverride...)}, running {@code application}. */
  static DropwizardAppExtension<BatchGatewayConfiguration> gateway(
      Class<? extends BatchGatewayApplication> application,
      String apiKeys,
      String inferenceUrlVariable,
      ConfigOverride... extra) {
    return gateway(
        application,
        apiKeys,
        () -> env(inferenceUrlVariable),
        "fixed",
        () -> env("BGW_TEST_DB_URL"),
        () -> env("BGW_TEST_DB_USER"),
        () -> env("BGW_TEST_DB_PASSWORD"),
        extra);
  }

  /**
   * As {@link #gateway(String, String, ConfigOverride...)}, with the capacity probe on. One
   * Temporal serves every IT's gateway and a pool's probe workflow id is fixed, so gateways that
   * all ran probes would hand the one probe each other's engines: only this one runs it.
   */
  static DropwizardAppExtension<BatchGatewayConfiguration> probingGateway(
      String apiKeys, Supplier<String> inferenceUrl, ConfigOverride... extra) {
    return gateway(apiKeys, inferenceUrl, "adaptive", extra);
  }

  /** As {@link #gateway(String, String, ConfigOverride...)}, against a server the test started. */
  static DropwizardAppExtension<BatchGatewayConfiguration> gatewayAt(
      String apiKeys, Supplier<String> inferenceUrl, ConfigOverride... extra) {
    return gateway(apiKeys, inferenceUrl, "fixed", extra);
  }

  /**
   * As {@link #gateway(String, String, ConfigOverride...)}, on a PostgreSQL of the test's own
   * instead of the stack's.
   */
  static DropwizardAppExtension<BatchGatewayConfiguration> gatewayOnDatabase(
      String apiKeys,
      Supplier<String> dbUrl,
      Supplier<String> dbUser,
      Supplier<String> dbPassword,
      ConfigOverride... extra) {
    return gateway(
        BatchGatewayApplication.class,
        apiKeys,
        () -> env("BGW_TEST_INFERENCE_URL"),
        "fixed",
        dbUrl,
        dbUser,
        dbPassword,
        extra);
  }

  private static DropwizardAppExtension<BatchGatewayConfiguration> gateway(
      String apiKeys, Supplier<String> inferenceUrl, String capacityMode, ConfigOverride... extra) {
    return gateway(
        BatchGatewayApplication.class,
        apiKeys,
        inferenceUrl,
        capacityMode,
        () -> env("BGW_TEST_DB_URL"),
        () -> env("BGW_TEST_DB_USER"),
        () -> env("BGW_TEST_DB_PASSWORD"),
        extra);
  }

  /** Each key is set once: of two overrides of one key, which one wins is not to be relied on. */
  private static DropwizardAppExtension<BatchGatewayConfiguration> gateway(
      Class<? extends BatchGatewayApplication> application,
      String apiKeys,
      Supplier<String> inferenceUrl,
      String capacityMode,
      Supplier<String> dbUrl,
      Supplier<String> dbUser,
      Supplier<String> dbPassword,
      ConfigOverride... extra) {
    String dataDir;
    try {
      dataDir = Files.createTempDirectory("bgw-it-").toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<ConfigOverride> overrides = new ArrayList<>();
    overrides.add(ConfigOverride.config("server.applicationConnectors[0].port", "0"));
    overrides.add(ConfigOverride.config("server.adminConnectors[0].port", "0"));
    overrides.add(ConfigOverride.config("database.url", dbUrl));
    overrides.add(ConfigOverride.config("database.user", dbUser));
    overrides.add(ConfigOverride.config("database.password", dbPassword));
    overrides.add(ConfigOverride.config("temporal.target", () -> env("BGW_TEST_TEMPORAL")));
    overrides.add(ConfigOverride.config("inference.url", inferenceUrl));
    overrides.add(ConfigOverride.config("limiter.redis.url", () -> env("BGW_TEST_REDIS_URL")));
    overrides.add(ConfigOverride.config("files.root", dataDir + "/files"));
    overrides.add(ConfigOverride.config("apiKeys", apiKeys));
    overrides.add(ConfigOverride.config("logging.level", "WARN"));
    overrides.add(ConfigOverride.config("capacity.mode", capacityMode));
    overrides.addAll(List.of(extra));
    return new DropwizardAppExtension<>(
        application, "config/gateway.yml", overrides.toArray(ConfigOverride[]::new));
  }
}
