package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.configuration.ConfigurationValidationException;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceSettingsTest {
  private static final String UNSET = "BGW_TEST_SURELY_UNSET_7F3A";

  @Test
  void theShippedGatewayYmlIsOnePoolNamedDefault() throws Exception {
    BatchGatewayConfiguration config =
        new YamlConfigurationFactory<>(
                BatchGatewayConfiguration.class,
                Validators.newValidator(),
                Jackson.newObjectMapper(),
                "dw")
            .build(
                new SubstitutingSourceProvider(
                    new FileConfigurationSourceProvider(),
                    new EnvironmentVariableSubstitutor(false)),
                "config/gateway.yml");

    List<PoolDefinition> pools = config.getInference().pools();

    assertThat(pools).hasSize(1);
    assertThat(pools.getFirst().name()).isEqualTo("default");
    assertThat(pools.getFirst().metricsUrls()).singleElement().asString().endsWith("/metrics");
  }

  @Test
  void theShorthandIsOnePoolNamedDefault() throws Exception {
    InferenceSettings settings =
        PoolsYaml.parse(
            """
            url: http://engine:8000/v1/
            models: "Qwen/Qwen3-0.6B, other"
            """);

    assertThat(settings.effectivePools())
        .singleElement()
        .satisfies(
            pool -> {
              assertThat(pool.getName()).isEqualTo("default");
              assertThat(pool.getModels()).containsExactly("Qwen/Qwen3-0.6B", "other");
              assertThat(pool.getEndpoints().getFirst().baseUrl()).isEqualTo("http://engine:8000");
            });
    assertThat(settings.pools())
        .containsExactly(new PoolDefinition("default", List.of("http://engine:8000/metrics"), 0));
  }

  @Test
  void withNothingSetTheShorthandKeepsItsDefaultUrl() throws Exception {
    InferenceSettings settings = PoolsYaml.parse("requestTimeout: 1m\n");

    assertThat(settings.pools())
        .containsExactly(
            new PoolDefinition("default", List.of("http://127.0.0.1:8100/metrics"), 0));
  }

  @Test
  void poolsReadEndpointsKeysTlsRetryAndHeaders() throws Exception {
    InferenceSettings settings =
        PoolsYaml.parse(
            """
            headers:
              objective: {value: batch}
            pools:
              - name: qwen
                models: [Qwen/Qwen3-0.6B]
                endpoints:
                  - url: http://a:8000
                    apiKeyEnv: PATH
                    maxConcurrency: 128
                  - url: https://b:8443/v1
                    metricsUrl: http://b-metrics:9090/metrics
                    maxConcurrency: 64
                    connectTimeout: 2s
                    requestTimeout: 1m
                    tls: {insecureSkipVerify: true}
                retry: {maxAttempts: 9, maxBackoff: 2m}
                headers:
                  objective: {value: low-priority, batchOverride: true}
                  fairnessId: {enabled: false}
                  sloTtft: {name: x-deadline-ms}
              - name: llama
                endpoints:
                  - url: http://c:8000
            """);

    assertThat(settings.pools())
        .containsExactly(
            new PoolDefinition(
                "qwen", List.of("http://a:8000/metrics", "http://b-metrics:9090/metrics"), 192),
            new PoolDefinition("llama", List.of("http://c:8000/metrics"), 0));
    PoolSettings qwen = settings.effectivePools().getFirst();
    assertThat(qwen.getEndpoints().get(1).getTls().isInsecureSkipVerify()).isTrue();
    assertThat(qwen.getEndpoints().get(1).requestTimeoutOr(settings.getRequestTimeout()))
        .isEqualTo(io.dropwizard.util.Duration.minutes(1));
    HeaderSettings headers = qwen.headersOr(settings.getHeaders());
    assertThat(headers.getObjective().getValue()).isEqualTo("low-priority");
    assertThat(headers.getFairnessId().isEnabled()).isFalse();
    assertThat(headers.getSloTtft().nameOr("x")).isEqualTo("x-deadline-ms");
    assertThat(
            qwen.getRetry().over(new PoolRetry(5, Duration.ofMillis(500), Duration.ofSeconds(30))))
        .isEqualTo(new PoolRetry(9, Duration.ofMillis(500), Duration.ofMinutes(2)));
    PoolSettings llama = settings.effectivePools().get(1);
    assertThat(llama.headersOr(settings.getHeaders()).getObjective().getValue()).isEqualTo("batch");
    assertThat(llama.getRetry().isEmpty()).isTrue();
  }

  @Test
  void poolProblemsAreAllReportedWhenTheConfigurationIsRead() {
    assertThatThrownBy(
            () ->
                PoolsYaml.parse(
                    """
                    pools:
                      - name: a
                        models: [m1, m2]
                        endpoints:
                          - url: http://a:8000
                            apiKeyEnv: %s
                      - name: a
                        endpoints:
                          - metricsUrl: http://a:9000/metrics
                      - name: b
                        models: [m2]
                        endpoints: []
                    """
                        .formatted(UNSET)))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("two inference pools are named 'a'")
        .hasMessageContaining("model 'm2' is in two inference pools: 'a' and 'b'")
        .hasMessageContaining("pool 'a': endpoint 1: environment variable " + UNSET)
        .hasMessageContaining("pool 'a': endpoint 1: needs a url")
        .hasMessageNotContaining("sk-")
        .hasMessageContaining("pool 'b': needs at least one endpoint");
  }

  @Test
  void theShorthandAndPoolsAreNotMixed() {
    assertThatThrownBy(
            () ->
                PoolsYaml.parse(
                    """
                    url: http://x:8000
                    pools:
                      - name: a
                        endpoints: [{url: http://a:8000}]
                    """))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("not both");
  }

  @Test
  void keysTlsAndHeaderNamesAreChecked(@TempDir Path dir) throws Exception {
    Path key = Files.writeString(dir.resolve("key"), "sk-from-file\n");
    InferenceSettings settings =
        PoolsYaml.read(
            """
            pools:
              - name: a
                endpoints:
                  - url: http://a:8000
                    apiKeyFile: %s
                  - url: ftp://b
                    apiKeyFile: %s
                  - url: http://c:8000
                    apiKeyEnv: PATH
                    apiKeyFile: %s
                  - url: https://d:8443
                    tls: {trustStore: %s, insecureSkipVerify: true, trustStorePasswordEnv: %s}
                headers:
                  fairnessId: {name: "bad name"}
            """
                .formatted(key, dir.resolve("missing"), key, dir.resolve("none.p12"), UNSET));

    assertThat(settings.problems(Map.of("PATH", "x")::get))
        .containsExactly(
            "pool 'a': endpoint 2: url 'ftp://b' is not an http(s) URL",
            "pool 'a': endpoint 2: apiKeyFile " + dir.resolve("missing") + " cannot be read",
            "pool 'a': endpoint 3: set apiKeyEnv or apiKeyFile, not both",
            "pool 'a': endpoint 4: set tls.trustStore or tls.insecureSkipVerify, not both",
            "pool 'a': endpoint 4: tls.trustStore " + dir.resolve("none.p12") + " cannot be read",
            "pool 'a': endpoint 4: environment variable "
                + UNSET
                + " (tls.trustStorePasswordEnv) is not set",
            "pool 'a': header name 'bad name' is not a valid HTTP header name");
    assertThat(
            settings
                .effectivePools()
                .getFirst()
                .getEndpoints()
                .getFirst()
                .apiKey(Map.<String, String>of()::get))
        .isEqualTo("sk-from-file");
  }
}
