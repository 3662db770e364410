package dev.batchgateway.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.activity.ActivityOptions;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ActivityPoliciesTest {

  @Test
  void chunksAreRetriedWithoutACountUntilTheDeadline() {
    ActivityOptions chunk = ActivityPolicies.chunk(Duration.ofHours(3));

    assertThat(chunk.getRetryOptions().getMaximumAttempts()).isZero();
    assertThat(chunk.getScheduleToCloseTimeout())
        .isEqualTo(Duration.ofHours(3).plus(ActivityPolicies.CHUNK_DEADLINE_GRACE));
  }

  @Test
  void aChunkPastItsDeadlineStillGetsTheGrace() {
    assertThat(ActivityPolicies.chunk(Duration.ofMinutes(-1)).getScheduleToCloseTimeout())
        .isEqualTo(ActivityPolicies.CHUNK_DEADLINE_GRACE);
  }

  @Test
  void statusWritesAreRetriedWithoutACount() {
    assertThat(ActivityPolicies.status().getRetryOptions().getMaximumAttempts()).isZero();
  }
}
