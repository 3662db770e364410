package dev.batchgateway.service.limiter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.activities.limiter.LocalConcurrencyLimiter;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import org.junit.jupiter.api.Test;

/** {@code limiter.type} picks the implementation, and the shipped gateway.yml parses with both. */
class LimiterFactoryTest {
  private final YamlConfigurationFactory<BatchGatewayConfiguration> factory =
      new YamlConfigurationFactory<>(
          BatchGatewayConfiguration.class,
          Validators.newValidator(),
          Jackson.newObjectMapper(),
          "dw");

  private BatchGatewayConfiguration gatewayYml(String type) throws Exception {
    System.setProperty("dw.limiter.type", type);
    try {
      return factory.build(
          new SubstitutingSourceProvider(
              new FileConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(false)),
          "config/gateway.yml");
    } finally {
      System.clearProperty("dw.limiter.type");
    }
  }

  @Test
  void theRedissonTypeReadsItsRedisSettings() throws Exception {
    LimiterFactory limiter = gatewayYml("redisson").getLimiter();
    assertThat(limiter).isInstanceOf(RedissonLimiterFactory.class);
    String url = System.getenv().getOrDefault("BGW_REDIS_URL", "redis://127.0.0.1:56379");
    assertThat(((RedissonLimiterFactory) limiter).getRedis().getUrl()).isEqualTo(url);
  }

  @Test
  void theLocalTypeIgnoresTheRedisSettings() throws Exception {
    LimiterFactory limiter = gatewayYml("local").getLimiter();
    assertThat(limiter).isInstanceOf(LocalLimiterFactory.class);
    Environment environment = new Environment("test");
    assertThat(limiter.build(environment)).isInstanceOf(LocalConcurrencyLimiter.class);
    assertThat(environment.healthChecks().getNames()).doesNotContain("redis");
  }
}
