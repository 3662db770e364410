package dev.batchgateway.service.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationValidationException;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class QuotaSettingsTest {

  private static QuotaSettings parse(String yaml) throws Exception {
    return new YamlConfigurationFactory<>(
            QuotaSettings.class, Validators.newValidator(), Jackson.newObjectMapper(), "dw")
        .build(
            path -> new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "quotas.yml");
  }

  @Test
  void absentFiguresMeanNoLimit() throws Exception {
    QuotaSettings.Limits limits = parse("{}").limitsFor("anyone");
    assertThat(limits).isEqualTo(new QuotaSettings.Limits(0, 0, 0, 0));
    assertThat(limits.limitsBatches()).isFalse();
    assertThat(limits.limitsRate()).isFalse();
  }

  @Test
  void aTenantsOwnFiguresReplaceOnlyTheDefaultsItNames() throws Exception {
    QuotaSettings settings =
        parse(
            """
            maxActiveBatches: 10
            maxQueuedRequests: 100000
            requestsPerSecond: 20
            burst: 50
            tenants:
              big: {maxActiveBatches: 200, maxQueuedRequests: 0}
              slow: {requestsPerSecond: 0.5, burst: 2}
            """);

    assertThat(settings.limitsFor("someone"))
        .isEqualTo(new QuotaSettings.Limits(10, 100000, 20, 50));
    assertThat(settings.limitsFor("big")).isEqualTo(new QuotaSettings.Limits(200, 0, 20, 50));
    assertThat(settings.limitsFor("big").limitsBatches()).isTrue();
    assertThat(settings.limitsFor("slow")).isEqualTo(new QuotaSettings.Limits(10, 100000, 0.5, 2));
  }

  @Test
  void aBurstOfZeroIsOneSecondsWorthAndAtLeastOneCall() throws Exception {
    assertThat(parse("requestsPerSecond: 7.5\n").limitsFor("t").burst()).isEqualTo(8);
    assertThat(parse("requestsPerSecond: 0.2\n").limitsFor("t").burst()).isEqualTo(1);
    // No rate, no bucket: the burst is moot.
    assertThat(parse("burst: 30\n").limitsFor("t").burst()).isZero();
  }

  @Test
  void anOverrideCanLiftTheDefaultRate() throws Exception {
    QuotaSettings settings =
        parse("requestsPerSecond: 5\ntenants:\n  free: {requestsPerSecond: 0}\n");
    assertThat(settings.limitsFor("free").limitsRate()).isFalse();
    assertThat(settings.limitsFor("other").limitsRate()).isTrue();
  }

  @Test
  void negativeFiguresAreRefused() {
    assertThatThrownBy(() -> parse("maxActiveBatches: -1\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("maxActiveBatches");
    assertThatThrownBy(() -> parse("requestsPerSecond: -0.5\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("requestsPerSecond");
    assertThatThrownBy(() -> parse("tenants:\n  t: {maxQueuedRequests: -3}\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("maxQueuedRequests");
    assertThatThrownBy(() -> parse("tenants:\n  t: {burst: -1}\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("burst");
  }

  @Test
  void anInfiniteRateIsRefused() {
    assertThatThrownBy(() -> parse("requestsPerSecond: \"Infinity\"\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("finite");
    assertThatThrownBy(() -> parse("tenants:\n  t: {requestsPerSecond: \"NaN\"}\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("finite");
  }

  @Test
  void aTenantNameNoKeyCouldCarryIsRefused() {
    assertThatThrownBy(() -> parse("tenants:\n  \"team a\": {maxActiveBatches: 3}\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("quotas.tenants");
  }
}
