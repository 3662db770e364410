package dev.batchgateway.service.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.File;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The console log format of config/gateway.yml prints a request's id, and nothing without one. */
class LogFormatTest {

  private static String format(String pattern, Map<String, String> mdc) {
    LoggerContext context = new LoggerContext();
    PatternLayout layout = new PatternLayout();
    layout.setContext(context);
    layout.setPattern(pattern);
    layout.start();
    LoggingEvent event = new LoggingEvent();
    event.setLoggerName("dev.batchgateway.Example");
    event.setLevel(Level.INFO);
    event.setMessage("hello");
    event.setTimeStamp(0);
    event.setMDCPropertyMap(mdc);
    return layout.doLayout(event);
  }

  @Test
  void linesCarryTheRequestIdWhenThereIsOne() throws Exception {
    String pattern =
        new ObjectMapper(new YAMLFactory())
            .readTree(new File("config/gateway.yml"))
            .at("/logging/appenders/0/logFormat")
            .asText();
    assertThat(pattern).contains("%X{request_id}");
    assertThat(format(pattern, Map.of("request_id", "req_42")))
        .contains("dev.batchgateway.Example: [req_42] hello");
    assertThat(format(pattern, Map.of())).contains("dev.batchgateway.Example: hello");
  }
}
