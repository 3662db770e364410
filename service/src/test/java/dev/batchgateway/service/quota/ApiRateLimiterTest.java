package dev.batchgateway.service.quota;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ApiRateLimiterTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong();

  private final ApiRateLimiter limiter =
      new ApiRateLimiter(
          new QuotaSettings(
              0,
              0,
              1,
              2,
              Map.of(
                  "vip", new QuotaSettings.Override(null, null, 100.0, 100L),
                  "free", new QuotaSettings.Override(null, null, 0.0, null))),
          now::get);

  @Test
  void eachTenantHasItsOwnBucket() {
    assertThat(limiter.tryAcquire("a")).isZero();
    assertThat(limiter.tryAcquire("a")).isZero();
    assertThat(limiter.tryAcquire("a")).isEqualTo(SECOND);
    // a's empty bucket leaves b's full.
    assertThat(limiter.tryAcquire("b")).isZero();
    assertThat(limiter.tryAcquire("b")).isZero();
  }

  @Test
  void overridesRaiseOrLiftTheRate() {
    for (int i = 0; i < 100; i++) {
      assertThat(limiter.tryAcquire("vip")).as("vip call %d", i).isZero();
    }
    assertThat(limiter.tryAcquire("vip")).isPositive();
    for (int i = 0; i < 10_000; i++) {
      assertThat(limiter.tryAcquire("free")).isZero();
    }
  }

  @Test
  void retryAfterIsWholeSecondsRoundedUpAndAtLeastOne() {
    assertThat(RateLimitFilter.retryAfterSeconds(1)).isEqualTo(1);
    assertThat(RateLimitFilter.retryAfterSeconds(SECOND)).isEqualTo(1);
    assertThat(RateLimitFilter.retryAfterSeconds(SECOND + 1)).isEqualTo(2);
    assertThat(RateLimitFilter.retryAfterSeconds(4 * SECOND)).isEqualTo(4);
  }

  @Test
  void ratesReadAsWritten() {
    assertThat(RateLimitFilter.formatRate(1000)).isEqualTo("1,000");
    assertThat(RateLimitFilter.formatRate(0.5)).isEqualTo("0.5");
  }
}
