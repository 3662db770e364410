package dev.batchgateway.service.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.LayoutBase;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.logging.TextOrJsonLayoutFactory;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import io.dropwizard.logging.common.ConsoleAppenderFactory;
import io.dropwizard.logging.common.DefaultLoggingFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.TimeZone;
import org.junit.jupiter.api.Test;

/**
 * The console log of config/gateway.yml as Dropwizard builds it: text lines that carry a request's
 * id (and nothing without one), or with BGW_LOG_FORMAT=json one JSON object per line with the
 * request id, tenant and batch id as fields of their own.
 */
class LogFormatTest {

  /** The console appender's layout of config/gateway.yml, with {@code env} as the environment. */
  private static LayoutBase<ILoggingEvent> layout(Map<String, String> env) throws Exception {
    EnvironmentVariableSubstitutor substitutor = new EnvironmentVariableSubstitutor(false);
    substitutor.setVariableResolver(env::get);
    BatchGatewayConfiguration config =
        new YamlConfigurationFactory<>(
                BatchGatewayConfiguration.class,
                Validators.newValidator(),
                Jackson.newObjectMapper(),
                "dw")
            .build(
                new SubstitutingSourceProvider(new FileConfigurationSourceProvider(), substitutor),
                "config/gateway.yml");
    DefaultLoggingFactory logging = (DefaultLoggingFactory) config.getLoggingFactory();
    ConsoleAppenderFactory<?> console = (ConsoleAppenderFactory<?>) logging.getAppenders().get(0);
    assertThat(console.getLayout()).isInstanceOf(TextOrJsonLayoutFactory.class);
    LayoutBase<ILoggingEvent> layout =
        ((TextOrJsonLayoutFactory) console.getLayout())
            .build(new LoggerContext(), TimeZone.getTimeZone("UTC"));
    layout.start();
    return layout;
  }

  private static String format(LayoutBase<ILoggingEvent> layout, Map<String, String> mdc) {
    LoggerContext context = new LoggerContext();
    LoggingEvent event =
        new LoggingEvent(
            LogFormatTest.class.getName(),
            context.getLogger("dev.batchgateway.Example"),
            Level.INFO,
            "hello",
            null,
            null);
    event.setTimeStamp(1_700_000_000_123L);
    event.setMDCPropertyMap(mdc);
    return layout.doLayout(event);
  }

  @Test
  void textLinesCarryTheRequestIdWhenThereIsOne() throws Exception {
    LayoutBase<ILoggingEvent> text = layout(Map.of());

    assertThat(format(text, Map.of(LogContext.REQUEST_ID, "req_42")))
        .startsWith("INFO  [2023-11-14 22:13:20,123] dev.batchgateway.Example: [req_42] hello");
    assertThat(format(text, Map.of())).contains("dev.batchgateway.Example: hello");
    assertThat(layout(Map.of("BGW_LOG_FORMAT", "text")).getClass()).isEqualTo(text.getClass());
  }

  @Test
  void jsonLinesCarryRequestTenantAndBatchAsFields() throws Exception {
    LayoutBase<ILoggingEvent> json = layout(Map.of("BGW_LOG_FORMAT", "json"));
    Map<String, String> mdc = new HashMap<>();
    mdc.put(LogContext.REQUEST_ID, "req_42");
    mdc.put(LogContext.TENANT, "team-a");
    mdc.put(LogContext.BATCH_ID, "batch_abc");

    String line = format(json, mdc);

    assertThat(line).endsWith("\n").doesNotContain("\n{");
    JsonNode node = new ObjectMapper().readTree(line);
    assertThat(node.path("request_id").asText()).isEqualTo("req_42");
    assertThat(node.path("tenant").asText()).isEqualTo("team-a");
    assertThat(node.path("batch_id").asText()).isEqualTo("batch_abc");
    assertThat(node.path("message").asText()).isEqualTo("hello");
    assertThat(node.path("level").asText()).isEqualTo("INFO");
    assertThat(node.path("logger").asText()).isEqualTo("dev.batchgateway.Example");
    assertThat(node.path("timestamp").asText()).as(line).isEqualTo("2023-11-14T22:13:20.123Z");

    JsonNode bare = new ObjectMapper().readTree(format(json, Map.of()));
    assertThat(bare.has("batch_id")).isFalse();
    assertThat(bare.has("tenant")).isFalse();
    assertThat(bare.path("message").asText()).isEqualTo("hello");
  }
}
