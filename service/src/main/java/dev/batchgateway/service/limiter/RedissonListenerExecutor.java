package dev.batchgateway.service.limiter;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads Redisson runs its listeners on (pub/sub messages, among them the semaphore's "permits
 * were freed" notice), given to it through {@code Config.setExecutor} so that a failing listener is
 * logged through the gateway's logging instead of dying as an uncaught exception on stderr.
 *
 * <p>One failure is expected and harmless: after a capacity cut, a pool's free permits in Redis are
 * negative until enough requests end (the limiter never cuts a request in flight), and Redisson's
 * semaphore listener then hands that negative count to {@link
 * java.util.concurrent.Semaphore#release release}, which throws {@link IllegalArgumentException}.
 * The waiters that notice would have woken find out at their next poll instead, which they do
 * anyway. That case is counted and logged at debug; any other failure is logged as a warning with
 * its stack trace.
 */
final class RedissonListenerExecutor extends ThreadPoolExecutor {
  private static final Logger log = LoggerFactory.getLogger(RedissonListenerExecutor.class);

  private final AtomicLong negativeReleases = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();

  RedissonListenerExecutor(int threads) {
    super(
        threads,
        threads,
        60,
        TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(),
        daemonThreads("bgw-redisson-listener-"));
    allowCoreThreadTimeOut(true);
  }

  @Override
  public void execute(Runnable task) {
    super.execute(
        () -> {
          try {
            task.run();
          } catch (RuntimeException e) {
            handle(e);
          }
        });
  }

  /** Logs a listener's failure at the level it deserves. */
  void handle(RuntimeException e) {
    if (isNegativeRelease(e)) {
      long n = negativeReleases.incrementAndGet();
      log.debug(
          "Redisson's semaphore listener saw negative free permits after a cut ({} so far)", n);
    } else {
      failures.incrementAndGet();
      log.warn("A Redisson listener failed", e);
    }
  }

  /** Notices of negative free permits that Redisson's semaphore listener could not apply. */
  long negativeReleases() {
    return negativeReleases.get();
  }

  /** Other listener failures. */
  long failures() {
    return failures.get();
  }

  /**
   * Whether {@code e} is {@link java.util.concurrent.Semaphore#release(int)} refusing a negative
   * count, called by Redisson's semaphore pub/sub listener.
   */
  static boolean isNegativeRelease(Throwable e) {
    if (!(e instanceof IllegalArgumentException)) {
      return false;
    }
    boolean release = false;
    for (StackTraceElement frame : e.getStackTrace()) {
      if (frame.getClassName().equals("java.util.concurrent.Semaphore")
          && frame.getMethodName().equals("release")) {
        release = true;
      } else if (release && frame.getClassName().equals("org.redisson.pubsub.SemaphorePubSub")) {
        return true;
      }
    }
    return false;
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger next = new AtomicInteger();
    return task -> {
      Thread thread = new Thread(task, prefix + next.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
