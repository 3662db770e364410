package dev.batchgateway.activities.limiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.activities.port.ConcurrencyLimiter;
import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.PoolOutcomes;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LocalConcurrencyLimiterTest {
  private static PermitRequest in(String pool) {
    return new PermitRequest(pool, "tenant", "batch_1", 0, 0);
  }

  @Test
  void aFullPoolAnswersEmptyAndAnEndedPermitFreesOne() throws InterruptedException {
    LocalConcurrencyLimiter limiter = new LocalConcurrencyLimiter(2);

    Optional<ConcurrencyLimiter.Permit> first = limiter.acquire(in("a"), Duration.ZERO);
    Optional<ConcurrencyLimiter.Permit> second = limiter.acquire(in("a"), Duration.ZERO);
    assertThat(first).isPresent();
    assertThat(second).isPresent();
    assertThat(limiter.acquire(in("a"), Duration.ofMillis(20))).isEmpty();
    assertThat(limiter.acquire(in("b"), Duration.ZERO)).as("pools are separate").isPresent();

    first.get().onSuccess(1_000_000);
    assertThat(limiter.acquire(in("a"), Duration.ZERO)).isPresent();
  }

  @Test
  void endingTwiceFreesOnePermitAndCountsOneOutcome() throws InterruptedException {
    LocalConcurrencyLimiter limiter = new LocalConcurrencyLimiter(1);
    ConcurrencyLimiter.Permit permit = limiter.acquire(in("a"), Duration.ZERO).orElseThrow();
    permit.onDropped();
    permit.onSuccess(5);
    permit.onIgnore();

    assertThat(limiter.available("a")).isEqualTo(1);
    assertThat(limiter.outcomes("a")).isEqualTo(new PoolOutcomes(0, 1, 0, 0));
  }

  @Test
  void outcomesAreCountedPerPool() throws InterruptedException {
    LocalConcurrencyLimiter limiter = new LocalConcurrencyLimiter(4);
    limiter.acquire(in("a"), Duration.ZERO).orElseThrow().onSuccess(2_000_000);
    limiter.acquire(in("a"), Duration.ZERO).orElseThrow().onSuccess(4_000_000);
    limiter.acquire(in("a"), Duration.ZERO).orElseThrow().onIgnore();
    limiter.acquire(in("b"), Duration.ZERO).orElseThrow().onDropped();

    PoolOutcomes a = limiter.outcomes("a");
    assertThat(a.succeeded()).isEqualTo(2);
    assertThat(a.ignored()).isEqualTo(1);
    assertThat(a.dropped()).isZero();
    assertThat(a.meanLatencyMillis()).isEqualTo(3.0);
    assertThat(limiter.outcomes("b").dropped()).isEqualTo(1);
  }

  @Test
  void loweringTheLimitHoldsNewRequestsUntilEnoughHaveEnded() throws Exception {
    LocalConcurrencyLimiter limiter = new LocalConcurrencyLimiter(3);
    var p1 = limiter.acquire(in("a"), Duration.ZERO).orElseThrow();
    var p2 = limiter.acquire(in("a"), Duration.ZERO).orElseThrow();
    limiter.setLimit("a", 1);
    assertThat(limiter.inFlight("a")).isEqualTo(2);
    assertThat(limiter.available("a")).isZero();

    p1.onSuccess(1);
    assertThat(limiter.acquire(in("a"), Duration.ofMillis(20)))
        .as("still one in flight, the limit is one")
        .isEmpty();
    p2.onSuccess(1);
    assertThat(limiter.acquire(in("a"), Duration.ZERO)).isPresent();
  }

  @Test
  void raisingTheLimitWakesAWaitingRequest() throws Exception {
    LocalConcurrencyLimiter limiter = new LocalConcurrencyLimiter(0);
    CompletableFuture<Boolean> waiting =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return limiter.acquire(in("a"), Duration.ofSeconds(10)).isPresent();
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(50);
    assertThat(waiting).isNotDone();
    limiter.setLimit("a", 1);
    assertThat(waiting.get(5, TimeUnit.SECONDS)).isTrue();
    assertThat(limiter.limit("a")).isEqualTo(1);
  }

  @Test
  void aNegativeLimitIsRefused() {
    assertThatThrownBy(() -> new LocalConcurrencyLimiter(-1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new LocalConcurrencyLimiter(1).setLimit("a", -1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
