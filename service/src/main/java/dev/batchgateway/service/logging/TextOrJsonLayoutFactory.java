package dev.batchgateway.service.logging;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.LayoutBase;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import io.dropwizard.logging.common.DropwizardLayout;
import io.dropwizard.logging.json.EventJsonLayoutBaseFactory;
import jakarta.validation.constraints.NotNull;
import java.util.TimeZone;

/**
 * A log layout whose format is a setting, so one config file serves both: {@code text} lines from
 * {@code pattern}, or {@code json}, Dropwizard's JSON event layout (every option of {@code type:
 * json} applies). Dropwizard picks a layout by its type name, which an environment variable cannot
 * switch without a second config file; {@code format: ${BGW_LOG_FORMAT:-text}} can.
 */
@JsonTypeName("text-or-json")
public class TextOrJsonLayoutFactory extends EventJsonLayoutBaseFactory {

  /** How log lines are written. */
  public enum Format {
    TEXT,
    JSON
  }

  @NotNull private Format format = Format.TEXT;

  /** Logback pattern of the text format; Dropwizard's own when empty. */
  private String pattern = "";

  @JsonProperty
  public Format getFormat() {
    return format;
  }

  @JsonProperty
  public void setFormat(Format format) {
    this.format = format;
  }

  @JsonProperty
  public String getPattern() {
    return pattern;
  }

  @JsonProperty
  public void setPattern(String pattern) {
    this.pattern = pattern;
  }

  @Override
  public LayoutBase<ILoggingEvent> build(LoggerContext context, TimeZone timeZone) {
    if (format == Format.JSON) {
      return super.build(context, timeZone);
    }
    DropwizardLayout layout = new DropwizardLayout(context, timeZone);
    if (pattern != null && !pattern.isEmpty()) {
      layout.setPattern(pattern);
    }
    return layout;
  }
}
