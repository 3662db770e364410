package dev.batchgateway.activities;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.activities.port.ConcurrencyLimiter;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LocalConcurrencyLimiterTest {

  @Test
  void aFullPoolAnswersEmptyAndAReleaseFreesAPermit() throws InterruptedException {
    LocalConcurrencyLimiter limiter = new LocalConcurrencyLimiter(2);

    Optional<ConcurrencyLimiter.Permit> first = limiter.acquire("a", Duration.ZERO);
    Optional<ConcurrencyLimiter.Permit> second = limiter.acquire("a", Duration.ZERO);

    assertThat(first).isPresent();
    assertThat(second).isPresent();
    assertThat(limiter.acquire("a", Duration.ZERO)).isEmpty();
    assertThat(limiter.acquire("b", Duration.ZERO)).as("pools are separate").isPresent();
    first.get().release();
    assertThat(limiter.available("a")).isEqualTo(1);
  }

  @Test
  void releasingTwiceFreesOnePermit() throws InterruptedException {
    LocalConcurrencyLimiter limiter = new LocalConcurrencyLimiter(1);
    ConcurrencyLimiter.Permit permit = limiter.acquire("a", Duration.ZERO).orElseThrow();

    permit.release();
    permit.release();

    assertThat(limiter.available("a")).isEqualTo(1);
  }

  @Test
  void aPoolNeedsAtLeastOnePermit() {
    assertThatThrownBy(() -> new LocalConcurrencyLimiter(0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
