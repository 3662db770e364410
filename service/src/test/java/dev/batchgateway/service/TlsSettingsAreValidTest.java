package dev.batchgateway.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationException;
import io.dropwizard.configuration.ConfigurationFactory;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.setup.Bootstrap;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gateway.yml read as {@code check} and start-up read it, with TLS variables set: files that cannot
 * be read, or TLS files for a plain connection, are reported by setting name.
 */
class TlsSettingsAreValidTest {
  private static final ConfigurationFactory<BatchGatewayConfiguration> FACTORY = factory();

  private static ConfigurationFactory<BatchGatewayConfiguration> factory() {
    Bootstrap<BatchGatewayConfiguration> bootstrap = new Bootstrap<>(new BatchGatewayApplication());
    return bootstrap
        .getConfigurationFactoryFactory()
        .create(
            BatchGatewayConfiguration.class,
            bootstrap.getValidatorFactory().getValidator(),
            bootstrap.getObjectMapper(),
            "dw");
  }

  private static BatchGatewayConfiguration read(Map<String, String> env) throws Exception {
    byte[] yaml = Files.readAllBytes(Path.of("config/gateway.yml"));
    EnvironmentVariableSubstitutor substitutor = new EnvironmentVariableSubstitutor(false);
    substitutor.setVariableResolver(env::get);
    return FACTORY.build(
        new SubstitutingSourceProvider(path -> new ByteArrayInputStream(yaml), substitutor),
        "gateway.yml");
  }

  @Test
  void theDefaultsHaveNoTls() throws Exception {
    BatchGatewayConfiguration config = read(Map.of());

    assertThat(config.getTemporal().getTls().isEnabled()).isFalse();
    assertThat(config.getTemporal().getTls().sslContext()).isNull();
  }

  @Test
  void readableTemporalAndRedisFilesPass(@TempDir Path dir) throws Exception {
    String pem = Files.writeString(dir.resolve("ca.pem"), "").toString();
    String p12 = Files.writeString(dir.resolve("trust.p12"), "").toString();

    BatchGatewayConfiguration config =
        read(
            Map.of(
                "BGW_TEMPORAL_TLS", "true",
                "BGW_TEMPORAL_TLS_CA", pem,
                "BGW_TEMPORAL_TLS_SERVER_NAME", "temporal.example",
                "BGW_REDIS_URL", "rediss://redis.example:6380",
                "BGW_REDIS_TRUSTSTORE", p12));

    assertThat(config.getTemporal().getTls().isEnabled()).isTrue();
    assertThat(config.getTemporal().getTls().serverNameOverride()).isEqualTo("temporal.example");
  }

  @Test
  void everyProblemIsNamed() {
    assertThatThrownBy(
            () ->
                read(
                    Map.of(
                        "BGW_TEMPORAL_TLS", "true",
                        "BGW_TEMPORAL_TLS_CA", "/nowhere/ca.pem",
                        "BGW_REDIS_TRUSTSTORE", "/nowhere/trust.p12")))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("temporal.tls.caCert /nowhere/ca.pem cannot be read")
        .hasMessageContaining(
            "redis.trustStore is set but redis.url is not rediss://: the connection would be"
                + " plain");
  }

  @Test
  void temporalFilesWithTlsOffAreNamed() {
    assertThatThrownBy(() -> read(Map.of("BGW_TEMPORAL_TLS_CERT", "/etc/bgw/client.pem")))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining(
            "temporal.tls.clientCert is set but temporal.tls.enabled is false: the connection"
                + " would be plain text");
  }
}
