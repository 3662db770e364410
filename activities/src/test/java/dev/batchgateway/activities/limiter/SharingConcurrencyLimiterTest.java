package dev.batchgateway.activities.limiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.port.BatchPace;
import dev.batchgateway.activities.port.ConcurrencyLimiter.Permit;
import dev.batchgateway.activities.port.PermitRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SharingConcurrencyLimiterTest {
  private static final long NOW = Instant.parse("2026-12-01T00:00:00Z").getEpochSecond();
  private static final long DAY_LATER = NOW + 86_400;

  private final MutableClock clock = new MutableClock(NOW * 1000);
  private final MetricRegistry metrics = new MetricRegistry();

  private SharingConcurrencyLimiter sharing(LocalConcurrencyLimiter pool) {
    return new SharingConcurrencyLimiter(pool, pool, SharingSettings.defaults(), clock, metrics);
  }

  private static PermitRequest ask(String batch, int priority) {
    return new PermitRequest("pool", "tenant", batch, priority, DAY_LATER);
  }

  private static PermitRequest askAs(String tenant, String batch, int priority) {
    return new PermitRequest("pool", tenant, batch, priority, DAY_LATER);
  }

  private static Optional<Permit> now(SharingConcurrencyLimiter limiter, PermitRequest request)
      throws InterruptedException {
    return limiter.acquire(request, Duration.ZERO);
  }

  private static CompletableFuture<Optional<Permit>> waitFor(
      SharingConcurrencyLimiter limiter, PermitRequest request, Duration maxWait) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return limiter.acquire(request, maxWait);
          } catch (InterruptedException e) {
            throw new CompletionException(e);
          }
        },
        // A thread each: the default async pool may have a single thread on a small machine.
        java.util.concurrent.Executors.newThreadPerTaskExecutor(Thread.ofPlatform().factory()));
  }

  private static void awaitWaiting(SharingConcurrencyLimiter limiter, int waiters)
      throws InterruptedException {
    for (int i = 0; i < 500 && limiter.waiting("pool") < waiters; i++) {
      Thread.sleep(10);
    }
    assertThat(limiter.waiting("pool")).isEqualTo(waiters);
    // The waiter that was first before the others came may still be inside the pool limiter for
    // up to one 50 ms slice; after it, the first in the order asks.
    Thread.sleep(200);
  }

  @Test
  void aBatchAloneBorrowsTheWholePool() throws InterruptedException {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));

    List<Permit> held = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      held.add(now(limiter, ask("batch_low", -100)).orElseThrow());
    }

    assertThat(held).hasSize(10);
    assertThat(now(limiter, ask("batch_low", -100))).isEmpty();
  }

  /** Counts how many asks are inside the pool limiter at once; each takes 100 ms. */
  private static final class SlowAsks
      implements dev.batchgateway.activities.port.ConcurrencyLimiter {
    private final LocalConcurrencyLimiter inner = new LocalConcurrencyLimiter(100);
    private final java.util.concurrent.atomic.AtomicInteger inside =
        new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger most =
        new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public Optional<Permit> acquire(PermitRequest request, Duration maxWait)
        throws InterruptedException {
      most.accumulateAndGet(inside.incrementAndGet(), Math::max);
      try {
        Thread.sleep(100);
        return inner.acquire(request, maxWait);
      } finally {
        inside.decrementAndGet();
      }
    }
  }

  private static int mostAsksAtOnce(String... batches) throws Exception {
    SlowAsks slow = new SlowAsks();
    SharingConcurrencyLimiter limiter =
        new SharingConcurrencyLimiter(
            slow, slow.inner, SharingSettings.defaults(), Clock.systemUTC(), new MetricRegistry());
    for (String batch : batches) {
      now(limiter, ask(batch, 0)).orElseThrow().onSuccess(1); // tracked before the asks
    }
    List<CompletableFuture<Optional<Permit>>> asks = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      asks.add(waitFor(limiter, ask(batches[i % batches.length], 0), Duration.ofSeconds(5)));
    }
    for (CompletableFuture<Optional<Permit>> ask : asks) {
      assertThat(ask.get(10, TimeUnit.SECONDS)).isPresent();
    }
    return slow.most.get();
  }

  @Test
  void theRequestsOfTheOnlyBatchAskThePoolSideBySide() throws Exception {
    assertThat(mostAsksAtOnce("batch_only")).isGreaterThan(1);
  }

  @Test
  void withTwoBatchesAsksAreOrderedOneAtATime() throws Exception {
    assertThat(mostAsksAtOnce("batch_a", "batch_b")).isEqualTo(1);
  }

  @Test
  void raisingOneBatchRaisesItsShareAtOnce() throws InterruptedException {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));
    now(limiter, ask("batch_a", 0)).orElseThrow().onIgnore();
    now(limiter, ask("batch_b", 0)).orElseThrow().onIgnore();
    assertThat(limiter.shares("pool").get("batch_a")).isCloseTo(5.0, within(0.01));
    assertThat(limiter.shares("pool").get("batch_b")).isCloseTo(5.0, within(0.01));

    now(limiter, ask("batch_b", 10)).orElseThrow().onIgnore();

    assertThat(limiter.shares("pool").get("batch_a")).isCloseTo(10.0 / 3, within(0.01));
    assertThat(limiter.shares("pool").get("batch_b")).isCloseTo(20.0 / 3, within(0.01));
  }

  @Test
  void aTenantWithManyBatchesWeighsAsMuchAsATenantWithOne() throws InterruptedException {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(12));
    for (int i = 0; i < 3; i++) {
      now(limiter, askAs("tenant-many", "batch_many_" + i, 0)).orElseThrow().onIgnore();
    }
    now(limiter, askAs("tenant-one", "batch_one", 0)).orElseThrow().onIgnore();

    Map<String, Double> shares = limiter.shares("pool");
    assertThat(shares.get("batch_one")).isCloseTo(6.0, within(0.01));
    for (int i = 0; i < 3; i++) {
      assertThat(shares.get("batch_many_" + i)).isCloseTo(2.0, within(0.01));
    }
    // Priority still counts, between tenants and within one.
    now(limiter, askAs("tenant-many", "batch_many_0", 10)).orElseThrow().onIgnore();
    shares = limiter.shares("pool");
    assertThat(shares.get("batch_many_0")).isCloseTo(2 * shares.get("batch_many_1"), within(0.01));
    assertThat(shares.get("batch_one")).isLessThan(6.0);
  }

  @Test
  void underContentionALoneBatchKeepsItsTenantsHalfAgainstTenBatchesOfAnother() throws Exception {
    // 40 permits: the minimum share (5%, 2 permits a batch) leaves room for the tenants' shares.
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(40));
    AtomicLong grantsMany = new AtomicLong();
    AtomicLong grantsOne = new AtomicLong();
    long stopAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
    List<CompletableFuture<Void>> workers = new ArrayList<>();
    for (int b = 0; b < 10; b++) {
      for (int i = 0; i < 5; i++) {
        workers.add(
            demand(limiter, askAs("tenant-many", "batch_many_" + b, 0), grantsMany, stopAt));
      }
    }
    for (int i = 0; i < 30; i++) {
      workers.add(demand(limiter, askAs("tenant-one", "batch_one", 0), grantsOne, stopAt));
    }
    CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);

    // Shared per batch, the lone batch would get 1/11 of the permits; per tenant it gets half.
    double oneFraction = (double) grantsOne.get() / (grantsOne.get() + grantsMany.get());
    System.out.printf("lone batch got %.2f of the grants%n", oneFraction);
    assertThat(oneFraction).isGreaterThan(0.35);
  }

  @Test
  void underContentionTheRaisedBatchGetsAboutTwiceThePermits() throws Exception {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));
    AtomicLong grantsA = new AtomicLong();
    AtomicLong grantsB = new AtomicLong();
    long stopAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
    List<CompletableFuture<Void>> workers = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      workers.add(demand(limiter, ask("batch_a", 0), grantsA, stopAt));
      workers.add(demand(limiter, ask("batch_b", 10), grantsB, stopAt));
    }
    CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);

    assertThat(grantsA.get()).isPositive();
    assertThat((double) grantsB.get() / grantsA.get()).isGreaterThan(1.4);
  }

  /** Keeps asking, holding each permit 10 ms, until {@code stopAt}. */
  private static CompletableFuture<Void> demand(
      SharingConcurrencyLimiter limiter, PermitRequest request, AtomicLong grants, long stopAt) {
    return CompletableFuture.runAsync(
        () -> {
          try {
            while (System.nanoTime() < stopAt) {
              Optional<Permit> permit = limiter.acquire(request, Duration.ofMillis(200));
              if (permit.isPresent()) {
                grants.incrementAndGet();
                Thread.sleep(10);
                permit.get().onSuccess(10_000_000);
              }
            }
          } catch (InterruptedException e) {
            throw new CompletionException(e);
          }
        },
        java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
  }

  @Test
  void aStarvingBatchStillGetsItsMinimumShare() throws Exception {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(20));
    List<Permit> high = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      high.add(now(limiter, ask("batch_high", 100)).orElseThrow());
    }
    // batch_low is seen (nothing is free) before both wait, so both queue in the pool's order.
    assertThat(now(limiter, ask("batch_low", -100))).isEmpty();
    CompletableFuture<Optional<Permit>> highWaiter =
        waitFor(limiter, ask("batch_high", 100), Duration.ofSeconds(2));
    CompletableFuture<Optional<Permit>> lowWaiter =
        waitFor(limiter, ask("batch_low", -100), Duration.ofSeconds(5));
    awaitWaiting(limiter, 2);

    high.remove(0).onSuccess(1);

    assertThat(lowWaiter.get(5, TimeUnit.SECONDS)).isPresent();
    assertThat(highWaiter.get(5, TimeUnit.SECONDS)).isEmpty();
    assertThat(limiter.shares("pool").get("batch_low")).isEqualTo(1.0);
  }

  @Test
  void aBatchAtRiskGoesBeforeAHigherPriorityOneAndIsReportedOnce() throws Exception {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(1));
    Permit held = now(limiter, ask("batch_holder", 0)).orElseThrow();
    // Ten of a thousand lines in an hour, an hour left: it needs about 99 more hours.
    PermitRequest late =
        new PermitRequest(
            "pool", "tenant", "batch_late", 0, NOW + 3600, new BatchPace(1000, 10, NOW - 3600));
    CompletableFuture<Optional<Permit>> important =
        waitFor(limiter, ask("batch_important", 50), Duration.ofSeconds(1));
    CompletableFuture<Optional<Permit>> atRisk = waitFor(limiter, late, Duration.ofSeconds(5));
    awaitWaiting(limiter, 2);

    held.onSuccess(1);

    assertThat(atRisk.get(5, TimeUnit.SECONDS)).isPresent();
    assertThat(important.get(5, TimeUnit.SECONDS)).isEmpty();
    assertThat(now(limiter, late)).isEmpty();
    assertThat(metrics.gauge("batch_gateway_batches_at_risk").getValue()).isEqualTo(1);
    assertThat(metrics.counter("batch_gateway_batches_at_risk_reported_total").getCount())
        .isEqualTo(1);
  }

  @Test
  void amongBatchesAtRiskTheEarliestDeadlineGoesFirstEvenOverItsShare() throws Exception {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));
    BatchPace slow = new BatchPace(1000, 10, NOW - 3600);
    PermitRequest soon = new PermitRequest("pool", "tenant", "batch_soon", 0, NOW + 600, slow);
    PermitRequest later = new PermitRequest("pool", "tenant", "batch_later", 0, NOW + 1200, slow);
    PermitRequest important = ask("batch_important", 50);
    List<Permit> importantHeld = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      now(limiter, soon).orElseThrow();
    }
    for (int i = 0; i < 2; i++) {
      now(limiter, later).orElseThrow();
      importantHeld.add(now(limiter, important).orElseThrow());
    }
    // Every batch holds more than the minimum share (1 of 10); batch_soon far more than its share.
    assertThat(limiter.shares("pool").get("batch_soon")).isLessThan(6.0);
    CompletableFuture<Optional<Permit>> forLater = waitFor(limiter, later, Duration.ofSeconds(1));
    CompletableFuture<Optional<Permit>> forImportant =
        waitFor(limiter, important, Duration.ofSeconds(1));
    CompletableFuture<Optional<Permit>> forSoon = waitFor(limiter, soon, Duration.ofSeconds(5));
    awaitWaiting(limiter, 3);

    importantHeld.remove(0).onSuccess(1);

    assertThat(forSoon.get(5, TimeUnit.SECONDS)).isPresent();
    assertThat(forLater.get(5, TimeUnit.SECONDS)).isEmpty();
    assertThat(forImportant.get(5, TimeUnit.SECONDS)).isEmpty();
  }

  @Test
  void aBatchDueBeforeOneAtRiskKeepsGoingFirstOnceItsOwnPaceLooksSafe() throws Exception {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));
    // 990 of 1000 lines in an hour, ten minutes left: safe on its own pace.
    PermitRequest soon =
        new PermitRequest(
            "pool", "tenant", "batch_soon", 0, NOW + 600, new BatchPace(1000, 990, NOW - 3600));
    PermitRequest later =
        new PermitRequest(
            "pool", "tenant", "batch_later", 0, NOW + 1200, new BatchPace(1000, 10, NOW - 3600));
    PermitRequest important = ask("batch_important", 50);
    List<Permit> importantHeld = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      now(limiter, soon).orElseThrow();
    }
    for (int i = 0; i < 2; i++) {
      now(limiter, later).orElseThrow();
      importantHeld.add(now(limiter, important).orElseThrow());
    }
    CompletableFuture<Optional<Permit>> forLater = waitFor(limiter, later, Duration.ofSeconds(1));
    CompletableFuture<Optional<Permit>> forImportant =
        waitFor(limiter, important, Duration.ofSeconds(1));
    CompletableFuture<Optional<Permit>> forSoon = waitFor(limiter, soon, Duration.ofSeconds(5));
    awaitWaiting(limiter, 3);
    assertThat(limiter.batchesAtRisk()).isEqualTo(1);

    importantHeld.remove(0).onSuccess(1);

    // Serving batch_later first would leave batch_soon to fall behind until it is at risk too.
    assertThat(forSoon.get(5, TimeUnit.SECONDS)).isPresent();
    assertThat(forLater.get(5, TimeUnit.SECONDS)).isEmpty();
    assertThat(forImportant.get(5, TimeUnit.SECONDS)).isEmpty();
  }

  /** Waits in the pool limiter for as long as the test says, whatever slice it is asked for. */
  private static final class BlockingAsks
      implements dev.batchgateway.activities.port.ConcurrencyLimiter {
    final LocalConcurrencyLimiter inner;
    final java.util.concurrent.atomic.AtomicInteger inside =
        new java.util.concurrent.atomic.AtomicInteger();

    BlockingAsks(int permits) {
      inner = new LocalConcurrencyLimiter(permits);
    }

    @Override
    public Optional<Permit> acquire(PermitRequest request, Duration maxWait)
        throws InterruptedException {
      inside.incrementAndGet();
      try {
        return inner.acquire(request, Duration.ofSeconds(3));
      } finally {
        inside.decrementAndGet();
      }
    }
  }

  @Test
  void aPermitGotWhileABatchAheadInTheOrderArrivedGoesToThatBatch() throws Exception {
    BlockingAsks pool = new BlockingAsks(1);
    SharingConcurrencyLimiter limiter =
        new SharingConcurrencyLimiter(pool, pool.inner, SharingSettings.defaults(), clock, metrics);
    PermitRequest urgent =
        new PermitRequest(
            "pool", "tenant", "batch_urgent", 0, NOW + 600, new BatchPace(1000, 10, NOW - 3600));
    PermitRequest other = ask("batch_other", 0);
    now(limiter, urgent).orElseThrow().onSuccess(1); // seen, so that both queue
    Permit held = now(limiter, other).orElseThrow();
    // batch_other asks first and waits inside the pool limiter; batch_urgent comes meanwhile.
    CompletableFuture<Optional<Permit>> forOther = waitFor(limiter, other, Duration.ofSeconds(2));
    for (int i = 0; i < 300 && pool.inside.get() == 0; i++) {
      Thread.sleep(10);
    }
    CompletableFuture<Optional<Permit>> forUrgent = waitFor(limiter, urgent, Duration.ofSeconds(5));
    for (int i = 0; i < 300 && limiter.waiting("pool") < 2; i++) {
      Thread.sleep(10);
    }
    assertThat(pool.inside.get()).isEqualTo(1);

    held.onSuccess(1);

    Optional<Permit> got = forUrgent.get(5, TimeUnit.SECONDS);
    assertThat(got).isPresent();
    assertThat(forOther.get(5, TimeUnit.SECONDS)).isEmpty();
    got.get().onSuccess(1);
    assertThat(pool.inner.available("pool")).isEqualTo(1);
    assertThat(limiter.waiting("pool")).isZero();
  }

  @Test
  void withNoBatchAtRiskAnEarlierDeadlineDoesNotJumpTheShares() throws Exception {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));
    PermitRequest soon =
        new PermitRequest(
            "pool", "tenant", "batch_soon", 0, NOW + 600, new BatchPace(1000, 990, NOW - 3600));
    PermitRequest important = ask("batch_important", 50);
    List<Permit> importantHeld = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      now(limiter, soon).orElseThrow();
    }
    for (int i = 0; i < 4; i++) {
      importantHeld.add(now(limiter, important).orElseThrow());
    }
    CompletableFuture<Optional<Permit>> forSoon = waitFor(limiter, soon, Duration.ofSeconds(1));
    CompletableFuture<Optional<Permit>> forImportant =
        waitFor(limiter, important, Duration.ofSeconds(5));
    awaitWaiting(limiter, 2);

    importantHeld.remove(0).onSuccess(1);

    assertThat(forImportant.get(5, TimeUnit.SECONDS)).isPresent();
    assertThat(forSoon.get(5, TimeUnit.SECONDS)).isEmpty();
  }

  @Test
  void aBatchAtRiskStaysSoUntilItsPaceIsSafelyAhead() {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(1));
    long started = NOW - 3600;
    // 550 of 1000 in an hour, an hour left: needs about 49 minutes, 82% of the time left.
    BatchPace behind = new BatchPace(1000, 550, started);
    // 580 of 1000: needs about 43 minutes, 72%: safe for a batch that was not at risk, not yet
    // safe enough for one that was.
    BatchPace catchingUp = new BatchPace(1000, 580, started);
    // 650 of 1000: needs about 32 minutes, 54%.
    BatchPace ahead = new BatchPace(1000, 650, started);

    assertThat(limiter.atRisk(behind, NOW + 3600, NOW, false)).isTrue();
    assertThat(limiter.atRisk(catchingUp, NOW + 3600, NOW, false)).isFalse();
    assertThat(limiter.atRisk(catchingUp, NOW + 3600, NOW, true)).isTrue();
    assertThat(limiter.atRisk(ahead, NOW + 3600, NOW, true)).isFalse();
  }

  @Test
  void atRiskMeansTooSlowForTheTimeLeftOnceTheRateCanBeJudged() {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(1));
    long started = NOW - 3600;

    assertThat(limiter.atRisk(new BatchPace(1000, 500, started), NOW + 3600, NOW))
        .as("half done in an hour, an hour left: needs exactly the time left, over 80% of it")
        .isTrue();
    assertThat(limiter.atRisk(new BatchPace(1000, 800, started), NOW + 3600, NOW))
        .as("needs 15 minutes of the hour left")
        .isFalse();
    assertThat(limiter.atRisk(new BatchPace(1000, 0, NOW - 30), NOW + 3600, NOW))
        .as("too early to judge")
        .isFalse();
    assertThat(limiter.atRisk(new BatchPace(1000, 0, NOW - 120), NOW + 3600, NOW))
        .as("nothing done in two minutes")
        .isTrue();
    assertThat(limiter.atRisk(BatchPace.UNKNOWN, NOW + 60, NOW)).isFalse();
    assertThat(limiter.atRisk(new BatchPace(1000, 1000, started), NOW + 1, NOW)).isFalse();
  }

  @Test
  void prioritiesBeyondTheRangeWeighAsItsEnds() throws InterruptedException {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));

    now(limiter, ask("batch_huge", 1_000_000)).orElseThrow().onIgnore();
    now(limiter, ask("batch_max", 100)).orElseThrow().onIgnore();

    assertThat(limiter.shares("pool").get("batch_huge")).isCloseTo(5.0, within(0.01));
    assertThat(limiter.shares("pool").get("batch_max")).isCloseTo(5.0, within(0.01));
  }

  @Test
  void aBatchSilentForAFewSecondsNoLongerTakesAShare() throws InterruptedException {
    SharingConcurrencyLimiter limiter = sharing(new LocalConcurrencyLimiter(10));
    now(limiter, ask("batch_gone", 0)).orElseThrow().onIgnore();
    clock.advance(Duration.ofSeconds(6));

    now(limiter, ask("batch_here", 0)).orElseThrow().onIgnore();

    assertThat(limiter.shares("pool")).containsOnlyKeys("batch_here");
  }

  private static final class MutableClock extends Clock {
    private volatile long millis;

    MutableClock(long millis) {
      this.millis = millis;
    }

    void advance(Duration duration) {
      millis += duration.toMillis();
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public long millis() {
      return millis;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }
  }
}
