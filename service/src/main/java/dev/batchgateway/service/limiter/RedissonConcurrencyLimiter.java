package dev.batchgateway.service.limiter;

import dev.batchgateway.activities.limiter.CountedPermit;
import dev.batchgateway.activities.limiter.OutcomeCounters;
import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.PoolLimiter;
import dev.batchgateway.activities.port.PoolOutcomes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
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
import java.util.concurrent.atomic.AtomicLong;
import org.redisson.api.RPermitExpirableSemaphore;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A limiter shared by every worker that uses the same Redis: one {@link RPermitExpirableSemaphore}
 * per pool, under {@code bgw:pool:<pool>:permits}. The semaphore's size is the pool's limit; a pool
 * seen for the first time starts with {@code initialPermits} unless some worker already set it.
 *
 * <p>Each permit taken from Redis is a lease of {@code leaseTime}, renewed every third of it while
 * this process holds it, so the permits of a worker that dies (SIGKILL, lost network, a long GC
 * pause) come back by themselves within one lease, and a live request never loses its permit to
 * expiry.
 *
 * <p><b>Reuse.</b> A round trip to Redis to take a permit and another to give it back would cost
 * more than the rest of a short request's trip through the gateway. So a request that ends hands
 * its lease to the next request of this process that wants the same pool: one already waiting, or
 * one that asks within {@value #IDLE_MILLIS} ms; otherwise the lease goes back to Redis. A lease is
 * reused only for {@code permitReuse} after it was taken from Redis and only while the pool is not
 * over its limit (read from Redis every {@value #AVAILABILITY_POLL_MILLIS} ms), so that a lower
 * limit set by the capacity controller takes effect as soon as requests end, and the permits of a
 * busy worker go back through Redis, where other workers can take them, at least that often. A
 * lease this process holds without a request counts as in flight for the other workers for at most
 * {@value #IDLE_MILLIS} ms.
 *
 * <p><b>One ask at a time.</b> The requests of this process that wait for a pool's permit do not
 * each wait in Redis: every waiting acquire there wakes on every release of the pool and tries
 * again, so a hundred of them made a hundred scripts run for each permit given back. One ask per
 * pool is out at a time, waiting up to {@value #ASK_WAIT_MILLIS} ms in Redis; what it gets goes to
 * the earliest waiter, and it is made again while anyone waits. An acquire with no wait at all asks
 * Redis once by itself.
 *
 * <p><b>When Redis is unreachable</b> nothing is dispatched unbounded: {@link #acquire} answers
 * empty after its wait (it never throws for Redis errors) unless a lease this process already holds
 * is handed on within its reuse time, so a chunk keeps waiting and keeps checking whether it should
 * stop. Requests already in flight finish normally; their release is retried until their lease
 * would have run out anyway, and after that the lease has given the permit back. A lease that
 * expired during the outage lets its permit be taken again once Redis is back, so for at most the
 * length of the outage the pool can briefly hold more than its limit; that is the price of never
 * cutting a request short.
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

  /** How long a lease no request of this process uses waits for one before it goes back. */
  static final long IDLE_MILLIS = 100;

  /** How often idle leases are looked over. */
  private static final long SWEEP_MILLIS = 10;

  /** How long the pool's one ask waits in Redis for a permit before it is made again. */
  static final long ASK_WAIT_MILLIS = 200;

  /** How long after a failed ask the pool asks again while requests wait. */
  private static final long ASK_RETRY_MILLIS = 250;

  /** How often a pool in use reads whether it is over its limit. */
  static final long AVAILABILITY_POLL_MILLIS = 100;

  /** A pool nobody asked for in this long is no longer polled. */
  private static final long POLL_IDLE_POOL_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** How long a lease is handed from request to request unless configured otherwise. */
  public static final Duration DEFAULT_PERMIT_REUSE = Duration.ofSeconds(1);

  private final RedissonClient client;
  private final int initialPermits;
  private final long leaseMillis;
  private final long reuseNanos;
  private final ConcurrentMap<String, Pool> pools = new ConcurrentHashMap<>();
  private final Set<Lease> held = ConcurrentHashMap.newKeySet();
  private final OutcomeCounters outcomes = new OutcomeCounters();
  private final ScheduledExecutorService scheduler;
  private final AtomicBoolean unreachable = new AtomicBoolean();
  private final AtomicLong leasesTaken = new AtomicLong();
  private volatile boolean closed;

  public RedissonConcurrencyLimiter(RedissonClient client, int initialPermits, Duration leaseTime) {
    this(client, initialPermits, leaseTime, DEFAULT_PERMIT_REUSE);
  }

  /**
   * @param permitReuse how long a lease taken from Redis may be handed from one request to the next
   *     before it must go back; zero gives every permit back at once. Capped at a third of the
   *     lease, so a reused lease is always one Redis still holds for this process.
   */
  public RedissonConcurrencyLimiter(
      RedissonClient client, int initialPermits, Duration leaseTime, Duration permitReuse) {
    if (initialPermits < 0) {
      throw new IllegalArgumentException("initialPermits must not be negative");
    }
    if (leaseTime.toMillis() < 300) {
      throw new IllegalArgumentException("leaseTime must be at least 300 ms");
    }
    if (permitReuse.isNegative()) {
      throw new IllegalArgumentException("permitReuse must not be negative");
    }
    this.client = client;
    this.initialPermits = initialPermits;
    this.leaseMillis = leaseTime.toMillis();
    this.reuseNanos =
        Math.min(permitReuse.toNanos(), TimeUnit.MILLISECONDS.toNanos(leaseMillis / 3));
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("permit-leases").daemon().factory());
    long every = leaseMillis / 3;
    scheduler.scheduleWithFixedDelay(this::renewLeases, every, every, TimeUnit.MILLISECONDS);
    if (reuseNanos > 0) {
      scheduler.scheduleWithFixedDelay(
          this::sweepIdle, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
      scheduler.scheduleWithFixedDelay(
          this::pollAvailability,
          AVAILABILITY_POLL_MILLIS,
          AVAILABILITY_POLL_MILLIS,
          TimeUnit.MILLISECONDS);
    }
  }

  /** The Redis key of a pool's semaphore. */
  public static String key(String pool) {
    return "bgw:pool:" + pool + ":permits";
  }

  /** One permit taken from Redis, held by this process, with or without a request using it. */
  private static final class Lease {
    final Pool pool;
    final String id;
    final long takenAtNanos = System.nanoTime();

    /** When Redis will give the permit back on its own unless renewed. */
    volatile long leasedUntilNanos;

    /** When it was last given back by a request; guarded by the pool's lock. */
    long idleSinceNanos;

    Lease(Pool pool, String id, long leaseMillis) {
      this.pool = pool;
      this.id = id;
      this.leasedUntilNanos = takenAtNanos + leaseMillis * 1_000_000;
    }
  }

  /**
   * A pool's semaphore; whether this process has made sure it has been given its size; the leases
   * it holds that no request uses and the requests waiting for one.
   */
  private final class Pool {
    final String name;
    final RPermitExpirableSemaphore semaphore;
    volatile boolean sized;

    /** Whether the pool held more permits than its limit at the last reading. */
    volatile boolean overLimit;

    volatile long askedAtNanos = System.nanoTime();

    /** Whether an ask of Redis for this pool is out. Guarded by {@code this}. */
    boolean asking;

    /** Whether an ask is scheduled for later. Guarded by {@code this}. */
    boolean askScheduled;

    /** Leases no request uses, the most recently given back last. Guarded by {@code this}. */
    final ArrayDeque<Lease> idle = new ArrayDeque<>();

    /**
     * Acquires of this process waiting for a lease, the earliest first. Guarded by {@code this}.
     */
    final ArrayDeque<CompletableFuture<Lease>> waiters = new ArrayDeque<>();

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

    /** A lease that may still be reused, or null; leases too old for reuse go back to Redis. */
    Lease takeIdle() {
      List<Lease> stale = null;
      Lease found = null;
      synchronized (this) {
        long now = System.nanoTime();
        while (found == null && !idle.isEmpty()) {
          Lease lease = idle.pollLast();
          if (reusable(lease, now)) {
            found = lease;
          } else {
            if (stale == null) {
              stale = new ArrayList<>();
            }
            stale.add(lease);
          }
        }
      }
      if (stale != null) {
        stale.forEach(RedissonConcurrencyLimiter.this::release);
      }
      return found;
    }

    boolean reusable(Lease lease, long now) {
      return !closed && !overLimit && now - lease.takenAtNanos < reuseNanos;
    }

    /** Hands a lease no request uses any more to a waiter, keeps it a moment, or gives it back. */
    void offer(Lease lease) {
      offer(lease, false);
    }

    /**
     * As {@link #offer(Lease)}; a lease Redis has just granted ({@code fresh}) goes to a waiter
     * even when leases are not reused, since it was asked for that waiter.
     */
    void offer(Lease lease, boolean fresh) {
      while (true) {
        CompletableFuture<Lease> waiter = null;
        synchronized (this) {
          long now = System.nanoTime();
          boolean reusable = reusable(lease, now);
          if (reusable || (fresh && !closed && !waiters.isEmpty())) {
            waiter = waiters.pollFirst();
            if (waiter == null && reusable) {
              lease.idleSinceNanos = now;
              idle.addLast(lease);
              return;
            }
          }
        }
        if (waiter == null) {
          release(lease);
          return;
        }
        // Outside the lock: completing wakes the waiter's thread, and every request that ends
        // passes here, so waking inside the lock made them queue for it (the overhead
        // benchmark's profile had 5% of the gateway's samples in this method).
        if (waiter.complete(lease)) {
          return;
        }
        // That waiter gave up in the meantime: the next one, or idle, or back to Redis.
      }
    }

    /** Gives back the leases that waited long enough for a request, or may no longer be reused. */
    void sweep() {
      List<Lease> back = null;
      synchronized (this) {
        if (idle.isEmpty()) {
          return;
        }
        long now = System.nanoTime();
        for (Iterator<Lease> it = idle.iterator(); it.hasNext(); ) {
          Lease lease = it.next();
          if (!reusable(lease, now) || now - lease.idleSinceNanos >= IDLE_MILLIS * 1_000_000) {
            it.remove();
            if (back == null) {
              back = new ArrayList<>();
            }
            back.add(lease);
          }
        }
      }
      if (back != null) {
        back.forEach(RedissonConcurrencyLimiter.this::release);
      }
    }

    synchronized void addWaiter(CompletableFuture<Lease> waiter) {
      waiters.addLast(waiter);
    }

    /**
     * Asks Redis for one permit for the waiters of this pool, unless an ask is already out or
     * nobody waits. One ask at a time: every waiting ask in Redis wakes on every release of the
     * pool, and a hundred of them would each try again for the one permit released.
     */
    void askIfNeeded() {
      synchronized (this) {
        if (asking || waiters.isEmpty() || closed) {
          return;
        }
        asking = true;
      }
      try {
        CompletableFuture<Boolean> sizing =
            sized
                ? CompletableFuture.completedFuture(true)
                : semaphore.trySetPermitsAsync(initialPermits).toCompletableFuture();
        sizing
            .thenCompose(
                ignored -> {
                  sized = true;
                  return semaphore
                      .tryAcquireAsync(ASK_WAIT_MILLIS, leaseMillis, TimeUnit.MILLISECONDS)
                      .toCompletableFuture();
                })
            .whenComplete(this::asked);
      } catch (RuntimeException e) {
        asked(null, e);
      }
    }

    private void scheduledAsk() {
      synchronized (this) {
        askScheduled = false;
      }
      askIfNeeded();
    }

    /** Redis answered the pool's ask: the lease goes to the first waiter; then ask again. */
    private void asked(String permitId, Throwable error) {
      synchronized (this) {
        asking = false;
      }
      if (error != null) {
        unreachable(error);
        // Not at once: waiters keep waiting out their time, and must not make this spin.
        synchronized (this) {
          if (!askScheduled && !waiters.isEmpty()) {
            askScheduled = true;
            later(this::scheduledAsk, TimeUnit.MILLISECONDS.toNanos(ASK_RETRY_MILLIS));
          }
        }
        return;
      }
      reachable();
      if (permitId == null) {
        // Full, or gone: a Redis restarted without its data has lost the semaphore, and nothing
        // would ever be granted again. The next ask sizes it again if it is missing.
        sized = false;
      } else {
        offer(take(this, permitId), true);
      }
      askIfNeeded();
    }

    synchronized void removeWaiter(CompletableFuture<Lease> waiter) {
      waiters.remove(waiter);
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
    pool.askedAtNanos = System.nanoTime();
    Lease reused = pool.takeIdle();
    if (reused != null) {
      return Optional.of(new RedisPermit(reused));
    }
    if (maxWait.isZero()) {
      return acquireNow(pool);
    }
    CompletableFuture<Lease> mine = new CompletableFuture<>();
    pool.addWaiter(mine);
    try {
      // A lease given back between the look above and joining the waiters went idle: take it.
      Lease parked = pool.takeIdle();
      if (parked != null) {
        if (mine.complete(parked)) {
          return Optional.of(new RedisPermit(parked));
        }
        pool.offer(parked);
      }
      pool.askIfNeeded();
      Lease lease = mine.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return Optional.of(new RedisPermit(lease));
    } catch (InterruptedException e) {
      Lease late = giveUp(mine);
      if (late != null) {
        pool.offer(late);
      }
      throw e;
    } catch (ExecutionException | TimeoutException e) {
      Lease late = giveUp(mine);
      // Handed over by a request of this process just as the wait ended: use it.
      return late == null ? Optional.empty() : Optional.of(new RedisPermit(late));
    } finally {
      pool.removeWaiter(mine);
    }
  }

  /** An acquire that does not wait: one answer from Redis, without joining the pool's ask. */
  private Optional<Permit> acquireNow(Pool pool) throws InterruptedException {
    try {
      pool.ensureSized();
      String permitId =
          pool.semaphore
              .tryAcquireAsync(0, leaseMillis, TimeUnit.MILLISECONDS)
              .toCompletableFuture()
              .get(ANSWER_MARGIN_MILLIS, TimeUnit.MILLISECONDS);
      reachable();
      if (permitId == null) {
        pool.sized = false;
        return Optional.empty();
      }
      return Optional.of(new RedisPermit(take(pool, permitId)));
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      unreachable(e);
      return Optional.empty();
    }
  }

  /** A permit Redis granted this process becomes a lease it holds and renews. */
  private Lease take(Pool pool, String permitId) {
    leasesTaken.incrementAndGet();
    Lease lease = new Lease(pool, permitId, leaseMillis);
    held.add(lease);
    return lease;
  }

  private void later(Runnable task, long delayNanos) {
    try {
      scheduler.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closing) {
      log.debug("Not asking Redis again: the limiter is closed");
    }
  }

  /**
   * Ends a wait that failed: answers null if nothing was handed over, else the lease that was,
   * which the caller now owns.
   */
  private static Lease giveUp(CompletableFuture<Lease> mine) {
    // Waiters are only ever completed with a lease or, here, with null.
    return mine.complete(null) ? null : mine.join();
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
    for (Lease lease : held) {
      try {
        lease
            .pool
            .semaphore
            .updateLeaseTimeAsync(lease.id, leaseMillis, TimeUnit.MILLISECONDS)
            .whenComplete((renewed, error) -> renewed(lease, renewed, error));
      } catch (RuntimeException e) {
        unreachable(e);
      }
    }
  }

  private void renewed(Lease lease, Boolean renewed, Throwable error) {
    if (error != null) {
      unreachable(error);
    } else if (renewed) {
      lease.leasedUntilNanos = System.nanoTime() + leaseMillis * 1_000_000;
    } else if (held.remove(lease)) {
      log.warn(
          "Permit {} of pool {} outlived its lease; Redis has given it back while its request"
              + " still runs",
          lease.id,
          lease.pool.name);
    }
  }

  /** Never throws: it runs on the scheduler, which an exception would stop. */
  private void sweepIdle() {
    for (Pool pool : pools.values()) {
      try {
        pool.sweep();
      } catch (RuntimeException e) {
        log.warn("Could not give back idle permits of pool {}", pool.name, e);
      }
    }
  }

  /** Reads, for each pool asked for lately, whether it holds more permits than its limit. */
  private void pollAvailability() {
    long now = System.nanoTime();
    for (Pool pool : pools.values()) {
      if (!pool.sized || now - pool.askedAtNanos > POLL_IDLE_POOL_NANOS) {
        continue;
      }
      readAvailability(pool);
    }
  }

  private void readAvailability(Pool pool) {
    try {
      pool.semaphore
          .availablePermitsAsync()
          .whenComplete(
              (available, error) -> {
                if (error == null && available != null) {
                  pool.overLimit = available < 0;
                }
              });
    } catch (RuntimeException e) {
      log.debug("Could not read the permits of pool {}: {}", pool.name, e.toString());
    }
  }

  /**
   * Gives a lease back to Redis. Never throws into the caller (a request's completion): while Redis
   * is unreachable it tries again every second until the lease would have run out anyway.
   */
  private void release(Lease lease) {
    held.remove(lease);
    try {
      lease
          .pool
          .semaphore
          .tryReleaseAsync(lease.id)
          .whenComplete((released, error) -> released(lease, released, error));
    } catch (RuntimeException e) {
      released(lease, null, e);
    }
  }

  private void released(Lease lease, Boolean released, Throwable error) {
    if (error == null) {
      if (!released) {
        log.debug("Permit {} of pool {} had already expired", lease.id, lease.pool.name);
      }
      return;
    }
    unreachable(error);
    if (System.nanoTime() - lease.leasedUntilNanos >= 0) {
      log.debug("Permit {} of pool {} left to its lease", lease.id, lease.pool.name);
      return;
    }
    try {
      scheduler.schedule(() -> release(lease), RELEASE_RETRY_MILLIS, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopped) {
      log.debug("Permit {} of pool {} left to its lease", lease.id, lease.pool.name);
    }
  }

  /** A lease lent to one request; the request's end hands it on. */
  private final class RedisPermit extends CountedPermit {
    private final Lease lease;

    RedisPermit(Lease lease) {
      super(lease.pool.name, outcomes);
      this.lease = lease;
    }

    @Override
    protected void giveBack() {
      lease.pool.offer(lease);
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
    // A cut should stop reuse in this process at once, not at the next reading.
    readAvailability(entry);
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

  /** Permits this process holds now, used by a request or waiting a moment for one. */
  public int held() {
    return held.size();
  }

  /** Permits this process has taken from Redis since it started; for tests and monitoring. */
  public long leasesTaken() {
    return leasesTaken.get();
  }

  /**
   * Stops renewing leases and gives back what this process still holds, waiting a little for Redis
   * to confirm; anything it cannot return runs out with its lease.
   */
  @Override
  public void close() {
    closed = true;
    scheduler.shutdownNow();
    List<CompletableFuture<Boolean>> releases = new ArrayList<>();
    for (Lease lease : held) {
      try {
        releases.add(lease.pool.semaphore.tryReleaseAsync(lease.id).toCompletableFuture());
      } catch (RuntimeException e) {
        log.info("Permit {} of pool {} runs out with its lease: {}", lease.id, lease.pool.name, e);
      }
    }
    held.clear();
    for (Pool pool : pools.values()) {
      synchronized (pool) {
        pool.idle.clear();
      }
    }
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
