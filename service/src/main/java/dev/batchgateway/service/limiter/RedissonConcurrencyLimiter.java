package dev.batchgateway.service.limiter;

import dev.batchgateway.activities.limiter.CountedPermit;
import dev.batchgateway.activities.limiter.OutcomeCounters;
import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.PoolLimiter;
import dev.batchgateway.activities.port.PoolOutcomes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.redisson.api.RFuture;
import org.redisson.api.RPermitExpirableSemaphore;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A limiter shared by every worker that uses the same Redis: one {@link RPermitExpirableSemaphore}
 * per pool, under {@code bgw:pool:<pool>:permits}. The semaphore's size is the pool's limit; a pool
 * seen for the first time starts with {@code initialPermits} unless some worker already set it.
 *
 * <p>Each permit is leased for {@code leaseTime} and renewed every third of it while its request
 * runs, so the permits of a worker that dies (SIGKILL, lost network, a long GC pause) come back by
 * themselves within one lease, and a live request never loses its permit to expiry.
 *
 * <p><b>When Redis is unreachable</b> nothing is dispatched unbounded: {@link #acquire} answers
 * empty after its wait (it never throws for Redis errors), so a chunk keeps waiting and keeps
 * checking whether it should stop. Requests already in flight finish normally; their release is
 * retried until their lease would have run out anyway, and after that the lease has given the
 * permit back. A lease that expired during the outage lets its permit be taken again once Redis is
 * back, so for at most the length of the outage the pool can briefly hold more than its limit; that
 * is the price of never cutting a request short.
 *
 * <p>Outcomes are counted per process ({@link #outcomes} reports this worker's permits only);
 * {@link #limit} and {@link #inFlight} read Redis and cover every worker. Those two and {@link
 * #setLimit} throw when Redis is unreachable: they serve the capacity controller, whose activity
 * retries.
 */
public final class RedissonConcurrencyLimiter implements PoolLimiter, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedissonConcurrencyLimiter.class);

  /** How long past its wait an acquire may take before it gives up on an answer from Redis. */
  private static final long ANSWER_MARGIN_MILLIS = RedisSettings.COMMAND_TIMEOUT_MILLIS + 500;

  private static final long RELEASE_RETRY_MILLIS = 1000;

  private final RedissonClient client;
  private final int initialPermits;
  private final long leaseMillis;
  private final ConcurrentMap<String, Pool> pools = new ConcurrentHashMap<>();
  private final Set<RedisPermit> held = ConcurrentHashMap.newKeySet();
  private final OutcomeCounters outcomes = new OutcomeCounters();
  private final ScheduledExecutorService scheduler;
  private final AtomicBoolean unreachable = new AtomicBoolean();

  public RedissonConcurrencyLimiter(RedissonClient client, int initialPermits, Duration leaseTime) {
    if (initialPermits < 0) {
      throw new IllegalArgumentException("initialPermits must not be negative");
    }
    if (leaseTime.toMillis() < 300) {
      throw new IllegalArgumentException("leaseTime must be at least 300 ms");
    }
    this.client = client;
    this.initialPermits = initialPermits;
    this.leaseMillis = leaseTime.toMillis();
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("permit-lease-renewal").daemon().factory());
    long every = leaseMillis / 3;
    scheduler.scheduleWithFixedDelay(this::renewLeases, every, every, TimeUnit.MILLISECONDS);
  }

  /** The Redis key of a pool's semaphore. */
  public static String key(String pool) {
    return "bgw:pool:" + pool + ":permits";
  }

  /** A pool's semaphore, and whether this process has made sure it has been given its size. */
  private final class Pool {
    final String name;
    final RPermitExpirableSemaphore semaphore;
    volatile boolean sized;

    Pool(String name) {
      this.name = name;
      this.semaphore = client.getPermitExpirableSemaphore(key(name));
    }

    /** Gives the semaphore its initial permits unless a worker already did. */
    void ensureSized() throws InterruptedException, ExecutionException, TimeoutException {
      if (!sized) {
        semaphore
            .trySetPermitsAsync(initialPermits)
            .toCompletableFuture()
            .get(ANSWER_MARGIN_MILLIS, TimeUnit.MILLISECONDS);
        sized = true;
      }
    }
  }

  private Pool pool(String name) {
    return pools.computeIfAbsent(name, Pool::new);
  }

  @Override
  public Optional<Permit> acquire(PermitRequest request, Duration maxWait)
      throws InterruptedException {
    long deadline = System.nanoTime() + maxWait.toNanos();
    Pool pool = pool(request.pool());
    RFuture<String> pending = null;
    try {
      pool.ensureSized();
      long waitMillis = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
      pending = pool.semaphore.tryAcquireAsync(waitMillis, leaseMillis, TimeUnit.MILLISECONDS);
      String permitId =
          pending
              .toCompletableFuture()
              .get(waitMillis + ANSWER_MARGIN_MILLIS, TimeUnit.MILLISECONDS);
      reachable();
      if (permitId == null) {
        // Full, or gone: a Redis restarted without its data has lost the semaphore, and nothing
        // would ever be granted again. The next acquire sizes it again if it is missing.
        pool.sized = false;
        return Optional.empty();
      }
      RedisPermit permit = new RedisPermit(request.pool(), pool.semaphore, permitId);
      held.add(permit);
      return Optional.of(permit);
    } catch (InterruptedException e) {
      releaseLate(pool, pending);
      throw e;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      releaseLate(pool, pending);
      unreachable(e);
      // Not at once: a chunk asks again right away, and must not spin while Redis is away.
      TimeUnit.NANOSECONDS.sleep(deadline - System.nanoTime());
      return Optional.empty();
    }
  }

  /** A permit granted after its caller stopped waiting goes straight back. */
  private void releaseLate(Pool pool, RFuture<String> pending) {
    if (pending != null) {
      pending.whenComplete(
          (permitId, error) -> {
            if (permitId != null) {
              release(new RedisPermit(pool.name, pool.semaphore, permitId));
            }
          });
    }
  }

  private void unreachable(Throwable e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    if (unreachable.compareAndSet(false, true)) {
      log.warn(
          "Redis unreachable, no new requests get a permit until it answers: {}", cause.toString());
    } else {
      log.debug("Redis still unreachable: {}", cause.toString());
    }
  }

  private void reachable() {
    if (unreachable.compareAndSet(true, false)) {
      log.info("Redis answers again; permits are granted");
    }
  }

  /**
   * Extends the lease of every permit this process holds. Never throws: an exception would end the
   * scheduled renewals for good.
   */
  private void renewLeases() {
    for (RedisPermit permit : held) {
      try {
        permit
            .semaphore
            .updateLeaseTimeAsync(permit.id, leaseMillis, TimeUnit.MILLISECONDS)
            .whenComplete((renewed, error) -> renewed(permit, renewed, error));
      } catch (RuntimeException e) {
        unreachable(e);
      }
    }
  }

  private void renewed(RedisPermit permit, Boolean renewed, Throwable error) {
    if (error != null) {
      unreachable(error);
    } else if (renewed) {
      permit.leasedUntilNanos = System.nanoTime() + leaseMillis * 1_000_000;
    } else if (held.remove(permit)) {
      log.warn(
          "Permit {} of pool {} outlived its lease; Redis has given it back while its request"
              + " still runs",
          permit.id,
          permit.pool());
    }
  }

  /**
   * Gives a permit back. Never throws into the caller (a request's completion): while Redis is
   * unreachable it tries again every second until the lease would have run out anyway.
   */
  private void release(RedisPermit permit) {
    held.remove(permit);
    try {
      permit
          .semaphore
          .tryReleaseAsync(permit.id)
          .whenComplete((released, error) -> released(permit, released, error));
    } catch (RuntimeException e) {
      released(permit, null, e);
    }
  }

  private void released(RedisPermit permit, Boolean released, Throwable error) {
    if (error == null) {
      if (!released) {
        log.debug("Permit {} of pool {} had already expired", permit.id, permit.pool());
      }
      return;
    }
    unreachable(error);
    if (System.nanoTime() - permit.leasedUntilNanos >= 0) {
      log.debug("Permit {} of pool {} left to its lease", permit.id, permit.pool());
      return;
    }
    try {
      scheduler.schedule(() -> release(permit), RELEASE_RETRY_MILLIS, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closed) {
      log.debug("Permit {} of pool {} left to its lease", permit.id, permit.pool());
    }
  }

  private final class RedisPermit extends CountedPermit {
    private final RPermitExpirableSemaphore semaphore;
    private final String id;

    /** When Redis will give the permit back on its own unless renewed. */
    private volatile long leasedUntilNanos = System.nanoTime() + leaseMillis * 1_000_000;

    RedisPermit(String pool, RPermitExpirableSemaphore semaphore, String id) {
      super(pool, outcomes);
      this.semaphore = semaphore;
      this.id = id;
    }

    @Override
    protected void giveBack() {
      release(this);
    }
  }

  @Override
  public void setLimit(String pool, int permits) {
    if (permits < 0) {
      throw new IllegalArgumentException("permits must not be negative");
    }
    Pool entry = pool(pool);
    entry.semaphore.setPermits(permits);
    entry.sized = true;
  }

  @Override
  public int limit(String pool) {
    Pool entry = sized(pool);
    return entry.semaphore.getPermits();
  }

  @Override
  public int inFlight(String pool) {
    Pool entry = sized(pool);
    return entry.semaphore.acquiredPermits();
  }

  /** Permits free right now in {@code pool}, across every worker; negative after a cut. */
  public int available(String pool) {
    return sized(pool).semaphore.availablePermits();
  }

  private Pool sized(String pool) {
    Pool entry = pool(pool);
    try {
      entry.ensureSized();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading pool " + pool, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("Redis unreachable: cannot read pool " + pool, e);
    }
    return entry;
  }

  @Override
  public PoolOutcomes outcomes(String pool) {
    return outcomes.snapshot(pool);
  }

  /** Permits this process holds now. */
  public int held() {
    return held.size();
  }

  /**
   * Stops renewing leases and gives back what this process still holds, waiting a little for Redis
   * to confirm; anything it cannot return runs out with its lease.
   */
  @Override
  public void close() {
    scheduler.shutdownNow();
    List<CompletableFuture<Boolean>> releases = new ArrayList<>();
    for (RedisPermit permit : held) {
      try {
        releases.add(permit.semaphore.tryReleaseAsync(permit.id).toCompletableFuture());
      } catch (RuntimeException e) {
        log.info("Permit {} of pool {} runs out with its lease: {}", permit.id, permit.pool(), e);
      }
    }
    held.clear();
    try {
      CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new))
          .get(ANSWER_MARGIN_MILLIS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.info("Permits not returned at shutdown run out with their lease: {}", e.toString());
    }
  }
}
