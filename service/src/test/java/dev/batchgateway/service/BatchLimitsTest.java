package dev.batchgateway.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.util.Duration;
import org.junit.jupiter.api.Test;

class BatchLimitsTest {
  private static final ObjectMapper JSON = Jackson.newObjectMapper();

  @Test
  void extraCompletionWindowsAreAddedNamedAsWritten() throws Exception {
    BatchLimits limits =
        JSON.readValue("{\"extraCompletionWindows\":\" 90s, 2h ,\"}", BatchLimits.class);

    assertThat(limits.isExtraCompletionWindowsValid()).isTrue();
    assertThat(limits.getCompletionWindows())
        .containsEntry("24h", Duration.hours(24))
        .containsEntry("90s", Duration.seconds(90))
        .containsEntry("2h", Duration.hours(2))
        .hasSize(3);
  }

  @Test
  void malformedOrEmptyWindowsFailValidation() throws Exception {
    for (String bad : new String[] {"soon", "0s", "10 parsecs"}) {
      BatchLimits limits =
          JSON.readValue("{\"extraCompletionWindows\":\"" + bad + "\"}", BatchLimits.class);
      assertThat(limits.isExtraCompletionWindowsValid()).as(bad).isFalse();
    }
    assertThat(new BatchLimits().getCompletionWindows()).containsOnlyKeys("24h");
  }
}
