package dev.batchgateway.service.cleanup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.workflows.cleanup.CleanupRequest;
import io.dropwizard.configuration.ConfigurationValidationException;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CleanupSettingsTest {

  private static CleanupSettings parse(String yaml) throws Exception {
    return new YamlConfigurationFactory<>(
            CleanupSettings.class, Validators.newValidator(), Jackson.newObjectMapper(), "dw")
        .build(
            path -> new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "cleanup.yml");
  }

  @Test
  void defaultsRunHourlyAndKeepFinishedBatchesThirtyDays() throws Exception {
    CleanupSettings settings = parse("{}");
    assertThat(settings.isEnabled()).isTrue();
    assertThat(settings.interval()).isEqualTo(Duration.ofHours(1));
    assertThat(settings.toRequest()).isEqualTo(new CleanupRequest(500, 50, 30 * 86_400, 3600));
  }

  @Test
  void everyKeyIsRead() throws Exception {
    CleanupSettings settings =
        parse(
            "enabled: false\ninterval: 5m\npageSize: 20\nmaxPagesPerStep: 3\n"
                + "batchRetention: 2d\nworkGrace: 10m\n");
    assertThat(settings.isEnabled()).isFalse();
    assertThat(settings.interval()).isEqualTo(Duration.ofMinutes(5));
    assertThat(settings.toRequest()).isEqualTo(new CleanupRequest(20, 3, 2 * 86_400, 600));
  }

  @Test
  void anIntervalUnderASecondOrAnEmptyPageIsRefused() {
    assertThatThrownBy(() -> parse("interval: 100ms\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("interval");
    assertThatThrownBy(() -> parse("pageSize: 0\n"))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("pageSize");
  }
}
