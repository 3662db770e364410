package dev.batchgateway.activities.limiter;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.metrics.MetricNames;
import dev.batchgateway.activities.port.BatchPace;
import dev.batchgateway.activities.port.ConcurrencyLimiter;
import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.PoolCapacity;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shares each pool's permits between the batches that want them, in front of the limiter that
 * enforces the pool's total. Every batch that asked for a permit in the last few seconds has a
 * share of the pool's limit, weighted by its priority (each {@link SharingSettings#priorityStep}
 * points double it) and boosted while its deadline is at risk, and never below a minimum share.
 * Tenants share fairly: a batch's weight is divided by the number of active batches of its tenant,
 * so a tenant running ten batches weighs what it would with one of them (the mean of its batches'
 * weights), and a tenant with a single batch is not crowded out.
 *
 * <p>The next permit goes, in this order: to a batch below the minimum share (nobody starves);
 * then, whatever its share, to the batch with the earliest deadline among those at risk and those
 * due no later than one at risk (earliest deadline first, the order that meets the most deadlines a
 * pool can meet: a batch due sooner goes first even once its own pace looks safe, or it would fall
 * back behind a later one and hover at the edge of its window); then to a batch under its weighted
 * share, higher priority first, then the earlier deadline. A batch over its share still gets
 * permits nobody ahead of it is waiting for, so no permit stays idle; it gives them back only as
 * its requests end, since nothing in flight is cut.
 *
 * <p>One waiter at a time, the first in that order, asks the pool limiter, unless a single batch
 * uses the pool: its requests then ask side by side, since there is nothing to order. A permit it
 * gets after a waiter ahead of it in the order arrived goes to that waiter. So within one process
 * the order is exact; with a limiter shared by several processes, each process orders its own
 * waiters and the shared limiter hands permits to whichever process asks first.
 *
 * <p>A batch is at risk when, at the rate it has kept since it started, it needs more than {@link
 * SharingSettings#atRiskSafety} of the time left in its window, and stays at risk until it needs
 * less than {@value #AT_RISK_RELEASE} of that. That is reported once per batch, a warning and the
 * {@code batch_gateway_batches_at_risk_reported_total} counter, while {@code
 * batch_gateway_batches_at_risk} gauges how many batches are at risk now.
 */
public final class SharingConcurrencyLimiter implements ConcurrencyLimiter {
  private static final Logger log = LoggerFactory.getLogger(SharingConcurrencyLimiter.class);

  /** Longest the first waiter waits in the pool limiter before it checks it is still first. */
  private static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** A batch at risk leaves that state only below this share of the entry threshold. */
  static final double AT_RISK_RELEASE = 0.75;

  /** How long a read pool limit is used; the shared limiter's may cost a network round trip. */
  private static final long LIMIT_REFRESH_MILLIS = 1000;

  private final ConcurrencyLimiter delegate;
  private final PoolCapacity capacity;
  private final SharingSettings settings;
  private final Clock clock;
  private final Counter atRiskReported;
  private final MetricRegistry metrics;
  private final ConcurrentMap<String, Pool> pools = new ConcurrentHashMap<>();

  /** Batches already reported at risk, with their deadline, so each is reported once. */
  private final ConcurrentMap<String, Long> reported = new ConcurrentHashMap<>();

  public SharingConcurrencyLimiter(
      ConcurrencyLimiter delegate,
      PoolCapacity capacity,
      SharingSettings settings,
      Clock clock,
      MetricRegistry metrics) {
    this.delegate = delegate;
    this.capacity = capacity;
    this.settings = settings;
    this.clock = clock;
    this.metrics = metrics;
    this.atRiskReported = metrics.counter("batch_gateway_batches_at_risk_reported_total");
    metrics.<Gauge<Integer>>gauge("batch_gateway_batches_at_risk", () -> this::batchesAtRisk);
  }

  @Override
  public Optional<Permit> acquire(PermitRequest request, Duration maxWait)
      throws InterruptedException {
    Pool pool = pools.get(request.pool());
    if (pool == null) {
      pool = pools.computeIfAbsent(request.pool(), this::newPool);
    }
    pool.refreshLimit();
    long end = System.nanoTime() + maxWait.toNanos();
    pool.lock.lockInterruptibly();
    Waiter me = null;
    try {
      Batch batch = pool.track(request);
      if (pool.batches.size() == 1 && pool.waiters.isEmpty()) {
        // The only batch of the pool: there is no order to keep, so its requests ask the pool
        // limiter at once and side by side rather than one at a time (a shared limiter costs a
        // round trip to Redis per ask). A second batch makes every ask queue again.
        Optional<Permit> permit;
        pool.lock.unlock();
        try {
          permit = delegate.acquire(request, maxWait);
        } finally {
          pool.lock.lock();
        }
        if (permit.isEmpty()) {
          return Optional.empty();
        }
        batch.inFlight++;
        return Optional.of(new SharedPermit(pool, batch, permit.get()));
      }
      me = pool.enqueue(batch);
      while (true) {
        if (me.granted != null) {
          // Handed over by a waiter behind this one that got it while this one was queued.
          Permit granted = me.granted;
          me = null;
          return Optional.of(new SharedPermit(pool, batch, granted));
        }
        if (!pool.calling && pool.head() == me) {
          pool.calling = true;
          Optional<Permit> permit;
          pool.lock.unlock();
          try {
            long slice = Math.max(0, Math.min(SLICE_NANOS, end - System.nanoTime()));
            permit = delegate.acquire(request, Duration.ofNanos(slice));
          } finally {
            pool.lock.lock();
            pool.calling = false;
          }
          Waiter first = pool.head();
          if (permit.isPresent() && first != me && first.batch() != batch) {
            // A waiter ahead in the order came while this one was inside the pool limiter: the
            // permit is its. Otherwise a batch whose requests ask one at a time would lose every
            // other permit to whoever asks in the gap between two of its asks.
            pool.dequeue(first);
            first.granted = permit.get();
            first.batch().inFlight++;
            first.turn().signal();
            pool.handOver();
            continue;
          }
          if (permit.isPresent()) {
            pool.dequeue(me);
            me = null;
            batch.inFlight++;
            pool.handOver();
            return Optional.of(new SharedPermit(pool, batch, permit.get()));
          }
          pool.handOver();
        } else {
          long left = end - System.nanoTime();
          if (left <= 0) {
            return Optional.empty();
          }
          me.turn().awaitNanos(left);
        }
        if (me.granted == null && end - System.nanoTime() <= 0) {
          return Optional.empty();
        }
      }
    } finally {
      if (me != null) {
        if (me.granted != null) {
          // Interrupted once a permit was handed over: it goes back.
          me.granted.onIgnore();
          me.batch().inFlight--;
        }
        pool.dequeue(me);
        pool.handOver();
      }
      pool.lock.unlock();
    }
  }

  /** A pool seen for the first time, with its gauge of waiting requests. */
  private Pool newPool(String name) {
    metrics.<Gauge<Integer>>gauge(
        MetricNames.labeled("batch_gateway_limiter_waiting", "pool", name),
        () -> () -> waiting(name));
    return new Pool(name);
  }

  /**
   * Each tracked batch's share of {@code pool} now, in permits, by batch id; for monitoring and
   * tests.
   */
  public Map<String, Double> shares(String pool) {
    Pool state = pools.get(pool);
    if (state == null) {
      return Map.of();
    }
    state.lock.lock();
    try {
      Map<String, Double> shares = new LinkedHashMap<>();
      state.shares().forEach((batch, share) -> shares.put(batch.id, share));
      return shares;
    } finally {
      state.lock.unlock();
    }
  }

  /** Requests waiting for a permit of {@code pool} in this process; for monitoring and tests. */
  public int waiting(String pool) {
    Pool state = pools.get(pool);
    if (state == null) {
      return 0;
    }
    state.lock.lock();
    try {
      return state.waiters.size();
    } finally {
      state.lock.unlock();
    }
  }

  /** Batches at risk of missing their window now, across pools. */
  public int batchesAtRisk() {
    Set<String> atRisk = new HashSet<>();
    for (Pool pool : pools.values()) {
      pool.lock.lock();
      try {
        pool.batches.values().stream().filter(b -> b.atRisk).forEach(b -> atRisk.add(b.id));
      } finally {
        pool.lock.unlock();
      }
    }
    return atRisk.size();
  }

  /** Whether {@code pace} says the batch needs more than its safety share of the time left. */
  boolean atRisk(BatchPace pace, long deadlineEpochSeconds, long nowEpochSeconds) {
    return atRisk(pace, deadlineEpochSeconds, nowEpochSeconds, false);
  }

  /**
   * As {@link #atRisk(BatchPace, long, long)}, for a batch that {@code wasAtRisk}: it stays at risk
   * until it needs less than {@value #AT_RISK_RELEASE} of the safety share of the time left. The
   * pace is averaged from the batch's start, so the permits a batch gets while at risk soon make it
   * look safe; without that margin it would fall back among the others and slow down again, on and
   * off, and finish at the edge of its window.
   */
  boolean atRisk(
      BatchPace pace, long deadlineEpochSeconds, long nowEpochSeconds, boolean wasAtRisk) {
    if (!pace.known() || deadlineEpochSeconds <= 0 || pace.remainingRequests() == 0) {
      return false;
    }
    long elapsed = nowEpochSeconds - pace.startedAtEpochSeconds();
    if (elapsed < settings.minObservation().toSeconds()) {
      return false;
    }
    long left = deadlineEpochSeconds - nowEpochSeconds;
    if (left <= 0 || pace.doneRequests() == 0) {
      return true;
    }
    double safety = settings.atRiskSafety() * (wasAtRisk ? AT_RISK_RELEASE : 1);
    return secondsNeeded(pace, elapsed) > left * safety;
  }

  private static double secondsNeeded(BatchPace pace, long elapsed) {
    return pace.doneRequests() == 0
        ? Double.POSITIVE_INFINITY
        : pace.remainingRequests() * (double) elapsed / pace.doneRequests();
  }

  private void report(Batch batch, BatchPace pace, long now) {
    reported.values().removeIf(deadline -> deadline < now);
    if (reported.putIfAbsent(batch.id, batch.deadline) != null) {
      return;
    }
    atRiskReported.inc();
    log.warn(
        "Batch {} of tenant {} will likely miss its completion window: {} of {} requests done in"
            + " {} s, about {} s more needed at that rate, {} s left",
        batch.id,
        batch.tenant,
        pace.doneRequests(),
        pace.totalRequests(),
        now - pace.startedAtEpochSeconds(),
        Math.round(Math.min(secondsNeeded(pace, now - pace.startedAtEpochSeconds()), 1e12)),
        batch.deadline - now);
  }

  /** One batch as one pool sees it. Guarded by the pool's lock. */
  private static final class Batch {
    final String id;
    String tenant;
    int priority;
    long deadline;
    boolean atRisk;
    int inFlight;
    int waiting;
    long lastSeenMillis;

    Batch(String id) {
      this.id = id;
    }
  }

  /**
   * A thread waiting for a permit; signalled when it becomes first, or when a permit was handed
   * over to it. Guarded by the pool's lock.
   */
  private static final class Waiter {
    private final Batch batch;
    private final Condition turn;
    boolean queued = true;
    Permit granted;

    Waiter(Batch batch, Condition turn) {
      this.batch = batch;
      this.turn = turn;
    }

    Batch batch() {
      return batch;
    }

    Condition turn() {
      return turn;
    }
  }

  /** The waiters and batches of one pool. */
  private final class Pool {
    final String name;
    final ReentrantLock lock = new ReentrantLock();
    final Map<String, Batch> batches = new HashMap<>();
    final List<Waiter> waiters = new ArrayList<>();

    /** True while a waiter is inside the pool limiter; it holds the turn until it returns. */
    boolean calling;

    volatile int limit;
    volatile boolean limitRead;
    volatile long limitReadMillis;

    Pool(String name) {
      this.name = name;
    }

    void refreshLimit() {
      long now = clock.millis();
      if (!limitRead || now - limitReadMillis >= LIMIT_REFRESH_MILLIS) {
        limit = capacity.limit(name);
        limitReadMillis = now;
        limitRead = true;
      }
    }

    Batch track(PermitRequest request) {
      long nowMillis = clock.millis();
      long now = nowMillis / 1000;
      batches
          .values()
          .removeIf(
              b ->
                  b.waiting == 0
                      && b.inFlight == 0
                      && nowMillis - b.lastSeenMillis > settings.idleAfter().toMillis());
      Batch batch = batches.computeIfAbsent(request.batchId(), Batch::new);
      batch.tenant = request.tenant();
      batch.priority = settings.clamp(request.priority());
      batch.deadline = request.deadlineEpochSeconds();
      batch.lastSeenMillis = nowMillis;
      boolean atRisk = atRisk(request.pace(), batch.deadline, now, batch.atRisk);
      if (atRisk && !batch.atRisk) {
        report(batch, request.pace(), now);
      }
      batch.atRisk = atRisk;
      return batch;
    }

    Waiter enqueue(Batch batch) {
      Waiter waiter = new Waiter(batch, lock.newCondition());
      waiters.add(waiter);
      batch.waiting++;
      handOver();
      return waiter;
    }

    void dequeue(Waiter waiter) {
      if (waiter.queued) {
        waiter.queued = false;
        waiters.remove(waiter);
        waiter.batch().waiting--;
      }
    }

    void release(Batch batch) {
      lock.lock();
      try {
        batch.inFlight--;
        batch.lastSeenMillis = clock.millis();
        handOver();
      } finally {
        lock.unlock();
      }
    }

    /** Wakes whoever is first now, unless someone is already asking the pool limiter. */
    void handOver() {
      if (calling) {
        return;
      }
      Waiter head = head();
      if (head != null) {
        head.turn().signal();
      }
    }

    /**
     * A batch's weight: its priority and deadline risk, divided between its tenant's active batches
     * so that each tenant weighs as the mean of its batches, however many it runs.
     */
    double weight(Batch batch, Map<String, Integer> batchesPerTenant) {
      double weight = Math.pow(2, (double) batch.priority / settings.priorityStep());
      if (batch.atRisk) {
        weight *= settings.atRiskBoost();
      }
      return weight / batchesPerTenant.getOrDefault(tenantOf(batch), 1);
    }

    private static String tenantOf(Batch batch) {
      return batch.tenant == null ? "" : batch.tenant;
    }

    /** Permits every active batch keeps, however low its priority: at least one. */
    double minShare() {
      return Math.max(1, Math.ceil(settings.minShareFraction() * limit));
    }

    Map<Batch, Double> shares() {
      Map<String, Integer> batchesPerTenant = new HashMap<>();
      for (Batch batch : batches.values()) {
        batchesPerTenant.merge(tenantOf(batch), 1, Integer::sum);
      }
      Map<Batch, Double> weights = new LinkedHashMap<>();
      double total = 0;
      for (Batch batch : batches.values()) {
        double weight = weight(batch, batchesPerTenant);
        weights.put(batch, weight);
        total += weight;
      }
      double floor = minShare();
      Map<Batch, Double> shares = new LinkedHashMap<>();
      for (Map.Entry<Batch, Double> entry : weights.entrySet()) {
        shares.put(entry.getKey(), Math.max(floor, limit * entry.getValue() / total));
      }
      return shares;
    }

    /**
     * The latest deadline of a batch at risk, or {@link Long#MIN_VALUE} when none is: earliest
     * deadline first covers every batch due by then.
     */
    long edfHorizon() {
      long horizon = Long.MIN_VALUE;
      for (Batch batch : batches.values()) {
        if (batch.atRisk) {
          horizon = Math.max(horizon, batch.deadline);
        }
      }
      return horizon;
    }

    /** At risk, or due no later than a batch at risk: served earliest deadline first. */
    boolean urgent(Batch batch, long horizon) {
      return batch.atRisk || (batch.deadline > 0 && batch.deadline <= horizon);
    }

    /**
     * The waiter to ask next: the earliest waiter of the first batch in the order (under the
     * minimum share; at risk or due before one at risk, earliest deadline first; under its share,
     * higher priority, earlier deadline).
     */
    Waiter head() {
      if (waiters.isEmpty()) {
        return null;
      }
      Map<Batch, Double> shares = shares();
      double floor = minShare();
      long horizon = edfHorizon();
      Comparator<Batch> order =
          Comparator.<Batch, Boolean>comparing(b -> b.inFlight >= floor)
              .thenComparing(b -> !urgent(b, horizon))
              .thenComparingLong(b -> urgent(b, horizon) ? b.deadline : 0)
              .thenComparing(b -> b.inFlight >= shares.get(b))
              .thenComparing(b -> -b.priority)
              .thenComparingLong(b -> b.deadline);
      Batch first = null;
      Waiter head = null;
      for (Waiter waiter : waiters) {
        Batch batch = waiter.batch();
        if (first == null || order.compare(batch, first) < 0) {
          first = batch;
          head = waiter;
        }
      }
      return head;
    }
  }

  /** Ends the pool limiter's permit, then gives the batch's place back. */
  private static final class SharedPermit implements Permit {
    private final Pool pool;
    private final Batch batch;
    private final Permit inner;
    private final AtomicBoolean ended = new AtomicBoolean();

    SharedPermit(Pool pool, Batch batch, Permit inner) {
      this.pool = pool;
      this.batch = batch;
      this.inner = inner;
    }

    @Override
    public void onSuccess(long latencyNanos) {
      if (ended.compareAndSet(false, true)) {
        inner.onSuccess(latencyNanos);
        pool.release(batch);
      }
    }

    @Override
    public void onDropped() {
      if (ended.compareAndSet(false, true)) {
        inner.onDropped();
        pool.release(batch);
      }
    }

    @Override
    public void onIgnore() {
      if (ended.compareAndSet(false, true)) {
        inner.onIgnore();
        pool.release(batch);
      }
    }
  }
}
