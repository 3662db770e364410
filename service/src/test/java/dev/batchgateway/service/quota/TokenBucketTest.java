package dev.batchgateway.service.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong(42 * SECOND);

  @Test
  void aFullBucketLetsTheBurstThroughThenSaysHowLongToWait() {
    TokenBucket bucket = new TokenBucket(2, 5, now::get);
    for (int i = 0; i < 5; i++) {
      assertThat(bucket.tryTake()).as("call %d", i).isZero();
    }
    // Empty: the next token comes in half a second at 2 per second.
    assertThat(bucket.tryTake()).isEqualTo(SECOND / 2);
    now.addAndGet(SECOND / 4);
    assertThat(bucket.tryTake()).isEqualTo(SECOND / 4);
    now.addAndGet(SECOND / 4);
    assertThat(bucket.tryTake()).isZero();
    assertThat(bucket.tryTake()).isEqualTo(SECOND / 2);
  }

  @Test
  void aRefusedCallTakesNothing() {
    TokenBucket bucket = new TokenBucket(1, 1, now::get);
    assertThat(bucket.tryTake()).isZero();
    for (int i = 0; i < 10; i++) {
      assertThat(bucket.tryTake()).isPositive();
    }
    now.addAndGet(SECOND);
    assertThat(bucket.tryTake()).isZero();
  }

  @Test
  void aLongQuietSpellRefillsOnlyUpToTheBurst() {
    TokenBucket bucket = new TokenBucket(10, 3, now::get);
    for (int i = 0; i < 3; i++) {
      bucket.tryTake();
    }
    now.addAndGet(3600 * SECOND);
    for (int i = 0; i < 3; i++) {
      assertThat(bucket.tryTake()).isZero();
    }
    assertThat(bucket.tryTake()).isPositive();
  }

  @Test
  void theSustainedRateIsTheConfiguredOne() {
    TokenBucket bucket = new TokenBucket(5, 1, now::get);
    int allowed = 0;
    // Ten seconds of calls every millisecond: the first token plus five a second.
    for (int ms = 0; ms < 10_000; ms++) {
      if (bucket.tryTake() == 0) {
        allowed++;
      }
      now.addAndGet(SECOND / 1000);
    }
    assertThat(allowed).isBetween(50, 51);
  }

  @Test
  void aSlowRateWaitsWholeSeconds() {
    TokenBucket bucket = new TokenBucket(0.25, 1, now::get);
    assertThat(bucket.tryTake()).isZero();
    assertThat(bucket.tryTake()).isEqualTo(4 * SECOND);
  }

  @Test
  void aClockThatStepsBackRefillsNothingAndBreaksNothing() {
    TokenBucket bucket = new TokenBucket(1, 1, now::get);
    assertThat(bucket.tryTake()).isZero();
    now.addAndGet(-10 * SECOND);
    assertThat(bucket.tryTake()).isPositive();
  }

  @Test
  void aBucketWithoutRateOrRoomIsRefused() {
    assertThatThrownBy(() -> new TokenBucket(0, 1, now::get))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new TokenBucket(1, 0, now::get))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
