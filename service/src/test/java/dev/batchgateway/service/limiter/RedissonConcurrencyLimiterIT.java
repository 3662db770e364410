package dev.batchgateway.service.limiter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.activities.port.ConcurrencyLimiter.Permit;
import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.PoolOutcomes;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisNode;
import org.redisson.api.redisnode.RedisNodes;

/** The Redis limiter against a real Redis ({@code BGW_TEST_REDIS_URL}). */
class RedissonConcurrencyLimiterIT {
  private final List<AutoCloseable> closing = new ArrayList<>();
  private String url;
  private String pool;

  @BeforeEach
  void setUp() {
    url = TestRedis.url();
    pool = TestRedis.uniquePool("it");
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable resource : closing.reversed()) {
      resource.close();
    }
  }

  private RedissonClient client(String redisUrl) {
    RedissonClient client = TestRedis.client(redisUrl);
    closing.add(client::shutdown);
    return client;
  }

  private RedissonConcurrencyLimiter limiter(RedissonClient client, int permits, Duration lease) {
    RedissonConcurrencyLimiter limiter = new RedissonConcurrencyLimiter(client, permits, lease);
    closing.add(limiter);
    return limiter;
  }

  private RedissonConcurrencyLimiter limiter(int permits, Duration lease) {
    return limiter(client(url), permits, lease);
  }

  private PermitRequest in(String pool) {
    return new PermitRequest(pool, "tenant", "batch_1", 0, 0);
  }

  private static void eventually(Duration within, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("condition within %s", within).isNegative();
      Thread.sleep(20);
    }
  }

  @Test
  void permitsAreCappedCountedAndReportTheirOutcome() throws Exception {
    RedissonConcurrencyLimiter limiter = limiter(2, Duration.ofSeconds(30));

    Permit first = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    Permit second = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    assertThat(limiter.acquire(in(pool), Duration.ofMillis(100))).isEmpty();
    assertThat(limiter.limit(pool)).isEqualTo(2);
    assertThat(limiter.inFlight(pool)).isEqualTo(2);

    first.onSuccess(4_000_000);
    first.onDropped();
    eventually(Duration.ofSeconds(2), () -> limiter.inFlight(pool) == 1);
    Permit third = limiter.acquire(in(pool), Duration.ofSeconds(1)).orElseThrow();
    second.onDropped();
    third.onIgnore();

    eventually(Duration.ofSeconds(2), () -> limiter.inFlight(pool) == 0);
    assertThat(limiter.available(pool)).isEqualTo(2);
    assertThat(limiter.outcomes(pool))
        .as("a second end of the same permit is ignored")
        .isEqualTo(new PoolOutcomes(1, 1, 1, 4_000_000));
    assertThat(limiter.outcomes("other")).isEqualTo(PoolOutcomes.ZERO);
  }

  @Test
  void aWaitingAcquireGetsAPermitWhenOneIsReleased() throws Exception {
    RedissonConcurrencyLimiter limiter = limiter(1, Duration.ofSeconds(30));
    Permit held = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    CompletableFuture<Optional<Permit>> waiting =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return limiter.acquire(in(pool), Duration.ofSeconds(10));
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(200);
    assertThat(waiting).isNotDone();
    held.onSuccess(1);
    assertThat(waiting.get(5, TimeUnit.SECONDS)).isPresent();
  }

  @Test
  void aPermitIsHandedFromRequestToRequestWithoutAskingRedisEachTime() throws Exception {
    RedissonConcurrencyLimiter limiter = limiter(2, Duration.ofSeconds(30));
    for (int i = 0; i < 200; i++) {
      limiter.acquire(in(pool), Duration.ofSeconds(1)).orElseThrow().onSuccess(1);
    }
    assertThat(limiter.leasesTaken())
        .as("200 requests one after the other reuse the lease of the first")
        .isLessThanOrEqualTo(2);
    assertThat(limiter.outcomes(pool).succeeded()).isEqualTo(200);
    eventually(
        Duration.ofSeconds(1),
        () -> limiter.inFlight(pool) == 0 && limiter.held() == 0 && limiter.available(pool) == 2);
  }

  @Test
  void aWaiterGetsTheLeaseOfARequestThatEnds() throws Exception {
    RedissonConcurrencyLimiter limiter = limiter(1, Duration.ofSeconds(30));
    Permit held = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    CompletableFuture<Optional<Permit>> waiting = acquireInBackground(limiter, 10);
    Thread.sleep(200);
    assertThat(waiting).isNotDone();
    held.onSuccess(1);
    Permit next = waiting.get(5, TimeUnit.SECONDS).orElseThrow();
    assertThat(limiter.inFlight(pool)).isEqualTo(1);
    next.onSuccess(1);
    eventually(Duration.ofSeconds(2), () -> limiter.available(pool) == 1);
  }

  @Test
  void aReusedLeaseGoesBackToRedisWhereAnotherWorkerWaits() throws Exception {
    Duration reuse = Duration.ofMillis(300);
    RedissonConcurrencyLimiter busy =
        new RedissonConcurrencyLimiter(client(url), 1, Duration.ofSeconds(30), reuse);
    closing.add(busy);
    RedissonConcurrencyLimiter other = limiter(1, Duration.ofSeconds(30));
    CompletableFuture<Optional<Permit>> otherWaits = null;
    long started = System.nanoTime();
    // The busy worker always has its next request ready when one ends. Without an end to reuse it
    // would keep the permit for good; with one the permit goes back through Redis, where the
    // other worker's wait can take it. Which worker wins that race is up to Redis, so the bound
    // allows several rounds.
    while (System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10)) {
      Optional<Permit> permit = busy.acquire(in(pool), Duration.ofMillis(50));
      if (otherWaits == null) {
        otherWaits = acquireInBackground(other, 10);
      }
      permit.ifPresent(p -> p.onSuccess(1));
      if (otherWaits.isDone()) {
        break;
      }
    }
    assertThat(otherWaits).isNotNull();
    Permit got = otherWaits.get(1, TimeUnit.SECONDS).orElseThrow();
    assertThat((System.nanoTime() - started) / 1_000_000)
        .as("within a few reuse times")
        .isLessThan(5_000L);
    got.onSuccess(1);
  }

  @Test
  void manyWaitersOfOneProcessMakeOneAskAtATime() throws Exception {
    RedissonClient client = client(url);
    RedissonConcurrencyLimiter holder = limiter(1, Duration.ofSeconds(30));
    Permit only = holder.acquire(in(pool), Duration.ZERO).orElseThrow();
    RedissonConcurrencyLimiter waiting = limiter(client, 1, Duration.ofSeconds(30));
    waiting.limit(pool);
    long triesBefore = failedTries(client);

    List<CompletableFuture<Optional<Permit>>> waiters = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiters.add(acquireInBackground(waiting, 1));
    }
    for (CompletableFuture<Optional<Permit>> waiter : waiters) {
      assertThat(waiter.get(5, TimeUnit.SECONDS)).isEmpty();
    }
    long tries = failedTries(client) - triesBefore;
    // One ask waits up to ASK_WAIT_MILLIS in Redis and is made again: about 5 in a second, not 20
    // or more (each waiting acquire would have tried once, and again on every release).
    assertThat(tries)
        .as("tries to take a permit from a full pool, for 20 waiters over 1 s")
        .isLessThanOrEqualTo(2 * (1000 / RedissonConcurrencyLimiter.ASK_WAIT_MILLIS) + 2);

    only.onSuccess(1);
    Permit next = waiting.acquire(in(pool), Duration.ofSeconds(2)).orElseThrow();
    next.onSuccess(1);
  }

  /**
   * Failed tries to take a permit so far: the acquire script reads the nearest lease expiry ({@code
   * ZRANGE}) only when no permit is free.
   */
  private static long failedTries(RedissonClient client) {
    Map<String, String> stats =
        client
            .getRedisNodes(RedisNodes.SINGLE)
            .getInstance()
            .info(RedisNode.InfoSection.COMMANDSTATS);
    String line = stats.get("cmdstat_zrange");
    return line == null ? 0 : Long.parseLong(line.replaceFirst("^calls=(\\d+),.*", "$1"));
  }

  @Test
  void aLowerLimitStopsReuseAsRequestsEnd() throws Exception {
    RedissonConcurrencyLimiter limiter = limiter(3, Duration.ofSeconds(30));
    Permit a = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    Permit b = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    Permit c = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    limiter.setLimit(pool, 1);
    Thread.sleep(2 * RedissonConcurrencyLimiter.AVAILABILITY_POLL_MILLIS);

    a.onSuccess(1);
    assertThat(limiter.acquire(in(pool), Duration.ZERO))
        .as("the pool is over its new limit: an ended request's lease is not reused")
        .isEmpty();
    b.onSuccess(1);
    eventually(Duration.ofSeconds(2), () -> limiter.inFlight(pool) == 1);
    assertThat(limiter.acquire(in(pool), Duration.ofMillis(100))).isEmpty();
    c.onSuccess(1);
    Permit only = limiter.acquire(in(pool), Duration.ofSeconds(2)).orElseThrow();
    assertThat(limiter.acquire(in(pool), Duration.ofMillis(100))).isEmpty();
    assertThat(limiter.inFlight(pool)).isEqualTo(1);
    only.onSuccess(1);
  }

  @Test
  void withoutReuseEveryPermitGoesBackAtOnce() throws Exception {
    RedissonConcurrencyLimiter limiter =
        new RedissonConcurrencyLimiter(client(url), 2, Duration.ofSeconds(30), Duration.ZERO);
    closing.add(limiter);
    for (int i = 0; i < 5; i++) {
      limiter.acquire(in(pool), Duration.ofSeconds(1)).orElseThrow().onSuccess(1);
    }
    assertThat(limiter.leasesTaken()).isEqualTo(5);
  }

  private CompletableFuture<Optional<Permit>> acquireInBackground(
      RedissonConcurrencyLimiter limiter, int seconds) {
    CompletableFuture<Optional<Permit>> result = new CompletableFuture<>();
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try {
                result.complete(limiter.acquire(in(pool), Duration.ofSeconds(seconds)));
              } catch (Throwable e) {
                result.completeExceptionally(e);
              }
            });
    return result;
  }

  @Test
  void theFirstWorkerSizesAPoolAndLaterOnesKeepIt() throws Exception {
    RedissonConcurrencyLimiter first = limiter(3, Duration.ofSeconds(30));
    assertThat(first.limit(pool)).isEqualTo(3);
    RedissonConcurrencyLimiter second = limiter(10, Duration.ofSeconds(30));
    assertThat(second.limit(pool)).isEqualTo(3);
  }

  @Test
  void setLimitLowerCutsNothingInFlightAndHigherLetsWaitersIn() throws Exception {
    RedissonConcurrencyLimiter limiter = limiter(3, Duration.ofSeconds(30));
    RedissonConcurrencyLimiter otherWorker = limiter(3, Duration.ofSeconds(30));
    Permit a = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    Permit b = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();

    limiter.setLimit(pool, 1);
    assertThat(otherWorker.limit(pool)).as("every worker sees the new limit").isEqualTo(1);
    assertThat(limiter.inFlight(pool)).isEqualTo(2);
    assertThat(otherWorker.acquire(in(pool), Duration.ofMillis(100))).isEmpty();

    a.onSuccess(1);
    eventually(Duration.ofSeconds(2), () -> limiter.inFlight(pool) == 1);
    assertThat(otherWorker.acquire(in(pool), Duration.ofMillis(100)))
        .as("still at the limit of 1")
        .isEmpty();
    b.onSuccess(1);
    Permit c = otherWorker.acquire(in(pool), Duration.ofSeconds(2)).orElseThrow();

    CompletableFuture<Optional<Permit>> waiting =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return otherWorker.acquire(in(pool), Duration.ofSeconds(10));
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(200);
    assertThat(waiting).isNotDone();
    limiter.setLimit(pool, 4);
    Permit d = waiting.get(5, TimeUnit.SECONDS).orElseThrow();
    assertThat(limiter.limit(pool)).isEqualTo(4);
    assertThat(limiter.inFlight(pool)).isEqualTo(2);
    assertThat(limiter.available(pool)).isEqualTo(2);
    c.onIgnore();
    d.onIgnore();
  }

  @Test
  void aPoolWhoseSemaphoreVanishedIsSizedAgain() throws Exception {
    RedissonClient client = client(url);
    RedissonConcurrencyLimiter limiter = limiter(client, 2, Duration.ofSeconds(30));
    Permit before = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();
    // What a Redis restarted without its data looks like to a worker.
    client.getKeys().deleteByPattern("*" + RedissonConcurrencyLimiter.key(pool) + "*");

    assertThat(limiter.acquire(in(pool), Duration.ofMillis(100))).isEmpty();
    Permit after = limiter.acquire(in(pool), Duration.ofSeconds(1)).orElseThrow();
    before.onSuccess(1);
    after.onSuccess(1);
    eventually(Duration.ofSeconds(2), () -> limiter.available(pool) == 2);
  }

  @Test
  void aHeldPermitOutlivesManyLeasesBecauseItIsRenewed() throws Exception {
    Duration lease = Duration.ofSeconds(1);
    RedissonConcurrencyLimiter limiter = limiter(1, lease);
    Permit held = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();

    Thread.sleep(3 * lease.toMillis() + 500);
    assertThat(limiter.inFlight(pool)).isEqualTo(1);
    assertThat(limiter.acquire(in(pool), Duration.ofMillis(100))).isEmpty();

    held.onSuccess(1);
    eventually(Duration.ofSeconds(2), () -> limiter.available(pool) == 1);
  }

  @Test
  void thePermitsOfAHolderThatVanishedComeBackWithinOneLease() throws Exception {
    Duration lease = Duration.ofSeconds(2);
    RedissonClient vanishing = TestRedis.client(url);
    RedissonConcurrencyLimiter gone = new RedissonConcurrencyLimiter(vanishing, 2, lease);
    gone.acquire(in(pool), Duration.ZERO).orElseThrow();
    gone.acquire(in(pool), Duration.ZERO).orElseThrow();
    // The holder neither renews nor releases from here on, as after a SIGKILL.
    vanishing.shutdown();
    long vanishedAt = System.nanoTime();

    RedissonConcurrencyLimiter survivor = limiter(2, lease);
    assertThat(survivor.inFlight(pool)).isEqualTo(2);
    Permit back = survivor.acquire(in(pool), lease.plusSeconds(2)).orElseThrow();
    long tookMillis = (System.nanoTime() - vanishedAt) / 1_000_000;
    assertThat(tookMillis).isLessThanOrEqualTo(lease.toMillis() + 1000);
    eventually(Duration.ofSeconds(2), () -> survivor.inFlight(pool) == 1);
    back.onSuccess(1);
    gone.close();
  }

  @Test
  void whileRedisIsUnreachableAcquireAnswersEmptyAndInFlightRequestsEndNormally() throws Exception {
    URI target = URI.create(url);
    TcpProxy proxy = new TcpProxy(target.getHost(), target.getPort());
    closing.add(proxy);
    String proxied = "redis://" + target.getHost() + ":" + proxy.port();
    RedissonClient client = client(proxied);
    RedissonConcurrencyLimiter limiter = limiter(client, 2, Duration.ofSeconds(10));
    RedissonConcurrencyLimiter direct = limiter(2, Duration.ofSeconds(10));
    RedisHealthCheck health = new RedisHealthCheck(client);
    assertThat(health.execute().isHealthy()).isTrue();
    Permit inFlight = limiter.acquire(in(pool), Duration.ZERO).orElseThrow();

    proxy.stop();
    for (int i = 0; i < 3; i++) {
      long started = System.nanoTime();
      assertThat(limiter.acquire(in(pool), Duration.ofMillis(500))).isEmpty();
      long tookMillis = (System.nanoTime() - started) / 1_000_000;
      assertThat(tookMillis)
          .as("an acquire waits out its wait instead of spinning, and is bounded")
          .isBetween(400L, 500L + RedisSettings.COMMAND_TIMEOUT_MILLIS + 1500L);
    }
    assertThat(health.execute().isHealthy()).isFalse();
    inFlight.onSuccess(1_000_000);
    assertThat(limiter.outcomes(pool).succeeded()).isEqualTo(1);
    assertThat(direct.inFlight(pool)).as("its release waits for Redis").isEqualTo(1);

    proxy.start();
    Permit afterwards = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (afterwards == null && System.nanoTime() < deadline) {
      afterwards = limiter.acquire(in(pool), Duration.ofMillis(500)).orElse(null);
    }
    assertThat(afterwards).as("permits are granted again once Redis answers").isNotNull();
    assertThat(health.execute().isHealthy()).isTrue();
    eventually(
        Duration.ofSeconds(5), () -> direct.inFlight(pool) == 1 && direct.available(pool) == 1);
    afterwards.onSuccess(1);
    eventually(Duration.ofSeconds(5), () -> direct.available(pool) == 2);
  }
}
