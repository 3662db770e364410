package dev.batchgateway.service.limiter;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RPermitExpirableSemaphore;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * A cut below the permits in flight leaves negative free permits in Redis; Redisson's semaphore
 * listener then fails on every release until they are positive again. On the gateway's listener
 * threads that is counted and kept out of stderr, and the waiter still gets its permit.
 */
class RedissonListenerExecutorIT {

  @Test
  void releasesAfterACutBelowTheInFlightAreCountedNotThrownAndWaitersStillGetPermits()
      throws Exception {
    RedisSettings settings = new RedisSettings();
    settings.setUrl(TestRedis.url());
    Config config = settings.toRedissonConfig();
    RedissonListenerExecutor listeners = new RedissonListenerExecutor(4);
    config.setExecutor(listeners);
    RedissonClient client = Redisson.create(config);
    try {
      RPermitExpirableSemaphore semaphore =
          client.getPermitExpirableSemaphore("bgw:test:" + TestRedis.uniquePool("negative"));
      assertThat(semaphore.trySetPermits(3)).isTrue();
      String a = semaphore.acquire(30, TimeUnit.SECONDS);
      String b = semaphore.acquire(30, TimeUnit.SECONDS);
      String c = semaphore.acquire(30, TimeUnit.SECONDS);
      // A waiter subscribes to the semaphore's channel: the listener that fails is its.
      CompletableFuture<String> waiter =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return semaphore.tryAcquire(20, 30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  throw new IllegalStateException(e);
                }
              });
      Thread.sleep(500);

      semaphore.setPermits(1); // three in flight: one free is now -2
      semaphore.release(a); // -1, published to the waiter's listener
      semaphore.release(b); // 0

      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (listeners.negativeReleases() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(listeners.negativeReleases()).isPositive();
      assertThat(listeners.failures()).isZero();

      semaphore.release(c); // 1: the waiter's turn
      assertThat(waiter.get(25, TimeUnit.SECONDS)).isNotNull();
    } finally {
      client.shutdown();
      listeners.shutdown();
    }
  }

  @Test
  void onlyTheSemaphoreListenersNegativeReleaseIsTheExpectedFailure() {
    IllegalArgumentException expected = new IllegalArgumentException();
    expected.setStackTrace(
        new StackTraceElement[] {
          new StackTraceElement("java.util.concurrent.Semaphore", "release", null, 618),
          new StackTraceElement("org.redisson.pubsub.SemaphorePubSub", "onMessage", null, 42),
        });
    assertThat(RedissonListenerExecutor.isNegativeRelease(expected)).isTrue();

    IllegalArgumentException elsewhere = new IllegalArgumentException();
    elsewhere.setStackTrace(
        new StackTraceElement[] {
          new StackTraceElement("org.redisson.pubsub.LockPubSub", "onMessage", null, 10),
        });
    assertThat(RedissonListenerExecutor.isNegativeRelease(elsewhere)).isFalse();
    assertThat(RedissonListenerExecutor.isNegativeRelease(new IllegalStateException())).isFalse();

    RedissonListenerExecutor listeners = new RedissonListenerExecutor(1);
    try {
      listeners.handle(expected);
      listeners.handle(elsewhere);
      assertThat(listeners.negativeReleases()).isEqualTo(1);
      assertThat(listeners.failures()).isEqualTo(1);
    } finally {
      listeners.shutdown();
    }
  }
}
