package dev.batchgateway.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.batchgateway.activities.BatchSettings;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import io.dropwizard.util.Duration;
import jakarta.validation.ConstraintViolation;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchLimitsTest {
  private static final ObjectMapper JSON = Jackson.newObjectMapper();

  private static BatchLimits read(String yaml) throws Exception {
    return Jackson.newObjectMapper(new YAMLFactory()).readValue(yaml, BatchLimits.class);
  }

  @Test
  void theSizeLimitsReachTheWorkersSettings() throws Exception {
    BatchLimits limits =
        read("{maxLineSize: 1MiB, maxJsonDepth: 40, chunkBytes: 4MiB, maxResponseSize: 8MiB}");

    assertThat(Validators.newValidator().validate(limits)).isEmpty();
    assertThat(limits.toSettings().limits())
        .isEqualTo(new BatchSettings.Limits(1 << 20, 40, 4L << 20, 8 << 20));
    assertThat(new BatchLimits().toSettings().limits()).isEqualTo(BatchSettings.Limits.defaults());
  }

  @Test
  void aChunkMustHoldTheLongestLineAndAnswersAreCapped() throws Exception {
    Set<ConstraintViolation<BatchLimits>> violations =
        Validators.newValidator()
            .validate(read("{maxLineSize: 8MiB, chunkBytes: 4MiB, maxResponseSize: 2GiB}"));

    assertThat(violations)
        .extracting(ConstraintViolation::getMessage)
        .anySatisfy(m -> assertThat(m).contains("chunkBytes must be at least maxLineSize"))
        .hasSize(2);
  }

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
