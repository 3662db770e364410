package dev.batchgateway.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.batchgateway.activities.BatchSettings;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import jakarta.validation.ConstraintViolation;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchLimitsTest {

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
}
