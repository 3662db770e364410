package dev.batchgateway.activities.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.activities.port.PoolOutcomes;
import dev.batchgateway.workflows.capacity.ControllerState;
import dev.batchgateway.workflows.capacity.Decision;
import dev.batchgateway.workflows.capacity.EngineSample;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import dev.batchgateway.workflows.capacity.ProbeMode;
import dev.batchgateway.workflows.capacity.Steering;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CapacityControllerTest {
  private static final long TICK = 200;

  private final CapacityController controller = new CapacityController();

  private static PoolProbeSpec spec(int maxConcurrency) {
    return new PoolProbeSpec(
        "default", List.of("http://engine/metrics"), maxConcurrency, 1, 256, 2, 0.1, TICK, 60_000);
  }

  private static EngineSample engine(int running, int waiting) {
    return new EngineSample(true, 1, running, waiting, 0.1, 0.05, 0.01);
  }

  /** A pool under test: the limiter's limit and what is in flight, ticked by the controller. */
  private final class Pool {
    final PoolProbeSpec spec;
    Steering steering = Steering.NONE;
    ControllerState state = ControllerState.INITIAL;
    int limit;
    long now = 1_000_000;

    Pool(PoolProbeSpec spec, int limit) {
      this.spec = spec;
      this.limit = limit;
    }

    ControllerState tick(EngineSample sample, int inFlight) {
      return tick(sample, inFlight, PoolOutcomes.ZERO);
    }

    ControllerState tick(EngineSample sample, int inFlight, PoolOutcomes outcomes) {
      now += TICK;
      state = controller.decide(spec, steering, state, sample, limit, inFlight, outcomes, now);
      limit = state.limit();
      return state;
    }

    /** Ticks while the batch fills its limit and the engine runs batch plus interactive. */
    ControllerState ticksWithBatchFull(int ticks, int interactive) {
      for (int i = 0; i < ticks; i++) {
        int capacity = 32;
        int total = limit + interactive;
        tick(engine(Math.min(total, capacity), Math.max(0, total - capacity)), limit);
      }
      return state;
    }
  }

  @Test
  void firstTickWithAConfiguredCapacityCutsTheStartingLimitToCapacityMinusHeadroom() {
    Pool pool = new Pool(spec(32), 256);

    ControllerState state = pool.tick(engine(10, 0), 10);

    assertThat(state.mode()).isEqualTo(ProbeMode.ADAPTIVE);
    // 32 - 4 headroom, and no more than one step (4) above the 10 in flight.
    assertThat(state.limit()).isEqualTo(10 + 4);
    assertThat(state.lastDecision()).isEqualTo(Decision.DOWN);
    // A real cut (from 256): growth waits out the cooldown, then a step a tick as it fills.
    for (int i = 0; i < 12; i++) {
      pool.tick(engine(pool.limit, 0), pool.limit);
    }
    assertThat(pool.limit).isEqualTo(32 - 4);
  }

  @Test
  void aBatchStartingOnAnIdlePoolOpensItUpOneStepATickWithoutWaitingForTheCooldown() {
    Pool pool = new Pool(spec(32), 28);

    // Idle: one step (a tenth of 32, rounded up) above nothing in flight.
    assertThat(pool.tick(engine(0, 0), 0).limit()).isEqualTo(4);
    assertThat(pool.tick(engine(0, 0), 0).limit()).isEqualTo(4);

    // The batch fills what it is given; the limit follows a step a tick, not after a cooldown.
    List<Integer> limits = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      limits.add(pool.tick(engine(pool.limit, 0), pool.limit).limit());
    }
    assertThat(limits).containsExactly(8, 12, 16, 20, 24, 28, 28, 28);
    // Pacing is not a cut: an interactive wave still is, and growth then waits.
    assertThat(pool.state.lastDownMillis()).isLessThan(pool.now - 5 * TICK);
  }

  @Test
  void anInteractiveBurstLowersTheLimitAtOnce() {
    Pool pool = new Pool(spec(32), 28);
    pool.tick(engine(28, 0), 28);

    // 12 interactive requests arrive: the engine runs 32 and queues 8.
    ControllerState state = pool.tick(engine(32, 8), 28);

    assertThat(state.interactive()).isEqualTo(12);
    // Rising by 12 a tick, it is expected at 24 by the next: 32 - 24 - ceil(3 * sqrt(24)) < 1,
    // this very tick, though the average level has only begun to move.
    assertThat(state.interactiveLevel().mean()).isLessThan(12);
    assertThat(state.limit()).isEqualTo(1);
    assertThat(state.lastDecision()).isEqualTo(Decision.DOWN);
  }

  @Test
  void aSteadyInteractiveLoadLeavesCapacityMinusLoadMinusThreeSigmas() {
    Pool pool = new Pool(spec(32), 11);
    pool.tick(engine(11 + 12, 0), 11);
    pool.now += 10_000;

    ControllerState state = pool.tick(engine(11 + 12, 0), 11);

    assertThat(state.interactive()).isEqualTo(12);
    // Headroom: 3 standard deviations of 12 Poisson arrivals, ceil(3 * sqrt(12)) = 11 (> 10%).
    assertThat(state.limit()).isEqualTo(32 - 12 - 11);
  }

  @Test
  void aWaveArrivingTwoATickIsMetOnceItIsFarAboveItsLevel() {
    Pool pool = new Pool(spec(32), 28);
    pool.ticksWithBatchFull(15, 0);
    assertThat(pool.limit).isEqualTo(28);

    // Two more interactive requests a tick, never more than the rise noise (2), beside 20 batch
    // requests (so the engine has room and no queue).
    List<Integer> limits = new ArrayList<>();
    for (int interactive = 2; interactive <= 8; interactive += 2) {
      limits.add(pool.tick(engine(20 + interactive, 0), 20).limit());
    }

    // 2 and 4 may be jitter; at 6, three times the noise above a level of 0, it is a wave: it is
    // expected at 8 by the next tick, with ceil(3 * sqrt(8)) = 9 around it.
    // (24: one step above the 20 in flight, the slow start's pace, not a cut.)
    assertThat(limits.subList(0, 2)).containsOnly(24);
    assertThat(limits.get(2)).isEqualTo(32 - 8 - 9);
  }

  @Test
  void aQueueBehindTheBatchIsReadAsAWaveOnItsWayUp() {
    Pool pool = new Pool(spec(32), 28);
    pool.ticksWithBatchFull(15, 0);

    pool.tick(engine(30, 0), 28);
    // 3 interactive requests, one of them queued: a rise of one, but a queue.
    ControllerState state = pool.tick(engine(32, 1), 30);

    assertThat(state.interactive()).isEqualTo(3);
    // Expected at 3 + 2 with ceil(3 * sqrt(5)) = 7 around it: 32 - 5 - 7.
    assertThat(state.limit()).isEqualTo(32 - 5 - 7);
  }

  @Test
  void jitterOfARequestOrTwoIsNotReadAsARisingWave() {
    Pool pool = new Pool(spec(32), 28);
    pool.ticksWithBatchFull(15, 0);
    assertThat(pool.limit).isEqualTo(28);

    ControllerState state = pool.tick(engine(30, 0), 28);

    assertThat(state.interactive()).isEqualTo(2);
    // Not rising: the slots it holds plus one (29), and the steady limit (32 - 1 - 4 = 27) is
    // within its hysteresis of 28, so the limit holds.
    assertThat(state.limit()).isEqualTo(28);
    assertThat(state.lastDecision()).isEqualTo(Decision.HOLD);
  }

  @Test
  void aRisingWaveIsMetWhereItWillBeByTheNextTickNotWhereItIs() {
    Pool pool = new Pool(spec(32), 28);
    pool.tick(engine(28, 0), 28);

    // The first 3 requests of a wave, no queue yet: the batch stops refilling the slots the
    // next 3 will need, so the engine never queues them behind batch requests.
    ControllerState state = pool.tick(engine(31, 0), 28);

    assertThat(state.interactive()).isEqualTo(3);
    // Expected at 6 by the next tick, with ceil(3 * sqrt(6)) = 8 around it.
    assertThat(state.limit()).isEqualTo(32 - 6 - 8).isLessThan(28 - 3);
  }

  @Test
  void whenInteractiveLoadEndsTheLimitGrowsBackGentlyToCapacityMinusHeadroom() {
    Pool pool = new Pool(spec(32), 28);
    pool.ticksWithBatchFull(25, 12);
    assertThat(pool.limit).isEqualTo(32 - 12 - 11);

    // Quiet: the first second holds; once the quick average has left the level (about a second)
    // the level starts over near 0 and the limit grows back, never by more than 4 (10% of 32) a
    // tick.
    int ticks = 0;
    while (pool.limit < 28 && ticks < 100) {
      int before = pool.limit;
      pool.ticksWithBatchFull(1, 0);
      assertThat(pool.limit - before).isBetween(0, 4);
      ticks++;
    }
    assertThat(pool.limit).isEqualTo(28);
    assertThat(ticks).as("a second or two to see the level has fallen").isBetween(6, 16);
    assertThat(pool.ticksWithBatchFull(10, 0).limit()).isEqualTo(28);
  }

  @Test
  void aMomentaryDipInInteractiveLoadDoesNotHandItsSlotsToTheBatch() {
    Pool pool = new Pool(spec(32), 28);
    pool.ticksWithBatchFull(3, 12);
    int during = pool.limit;
    pool.now += 5_000;

    // One reading catches the wave between requests: 2 interactive instead of 12.
    pool.tick(engine(during + 2, 0), during);

    assertThat(pool.state.interactive()).isEqualTo(2);
    assertThat(pool.limit).as("the level still holds the slots").isEqualTo(during);
    assertThat(pool.state.interactiveLevel().mean()).isGreaterThan(11);
  }

  /**
   * An engine of 32 slots under a Poisson stream of interactive requests, each holding a slot a
   * fixed number of ticks, beside a batch that fills its limit; ticked every 50 ms like the
   * service. Seeded: the same run every time.
   */
  private final class Engine {
    static final long TICK_50 = 50;
    final Random random = new Random(42);
    final ArrayDeque<Long> interactiveEnds = new ArrayDeque<>();
    final ArrayDeque<Long> batchEnds = new ArrayDeque<>();
    final ControllerState[] last = {ControllerState.INITIAL};
    final PoolProbeSpec spec =
        new PoolProbeSpec("default", List.of("u"), 32, 1, 256, 2, 0.1, TICK_50, 60_000);
    long tick;
    int limit = 28;
    int holdTicks;
    double perTick;

    /** Poisson arrivals of {@code perSecond}, each holding a slot {@code holdMillis}. */
    Engine load(double perSecond, long holdMillis) {
      perTick = perSecond * TICK_50 / 1000.0;
      holdTicks = (int) (holdMillis / TICK_50);
      return this;
    }

    int poisson(double mean) {
      double l = Math.exp(-mean);
      double p = random.nextDouble();
      int k = 0;
      while (p > l) {
        p *= random.nextDouble();
        k++;
      }
      return k;
    }

    /** Runs {@code seconds}; returns the limit set at each tick. */
    List<Integer> run(double seconds) {
      List<Integer> limits = new ArrayList<>();
      for (int i = 0; i < seconds * 1000 / TICK_50; i++) {
        tick++;
        while (!interactiveEnds.isEmpty() && interactiveEnds.peek() <= tick) {
          interactiveEnds.poll();
        }
        for (int a = poisson(perTick); a > 0; a--) {
          interactiveEnds.add(tick + holdTicks);
        }
        while (!batchEnds.isEmpty() && batchEnds.peek() <= tick) {
          batchEnds.poll();
        }
        while (batchEnds.size() < limit) {
          batchEnds.add(tick + holdTicks);
        }
        int total = interactiveEnds.size() + batchEnds.size();
        EngineSample sample = engine(Math.min(32, total), Math.max(0, total - 32));
        last[0] =
            controller.decide(
                spec,
                Steering.NONE,
                last[0],
                sample,
                limit,
                batchEnds.size(),
                PoolOutcomes.ZERO,
                1_000_000 + tick * TICK_50);
        limit = last[0].limit();
        limits.add(limit);
      }
      return limits;
    }
  }

  private static int median(List<Integer> values) {
    List<Integer> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  private static int changes(List<Integer> values) {
    int changes = 0;
    for (int i = 1; i < values.size(); i++) {
      if (!values.get(i).equals(values.get(i - 1))) {
        changes++;
      }
    }
    return changes;
  }

  @Test
  void aSteadyPoissonLoadGetsASteadyLimit() {
    // 60% of the slots: 12.7 requests/s of 1.44 s each, so the interactive count wanders by
    // about 4 (its square root) from one request time to the next.
    Engine engine = new Engine().load(12.7, 1440);
    engine.run(20);

    List<Integer> limits = engine.run(30);

    int median = median(limits);
    // 32 - ~18 - 3 * sqrt(18): 1 to 4, whichever the mean of this stretch of load says.
    assertThat(median).isBetween(1, 4);
    long atMedian = limits.stream().filter(l -> l == median).count();
    assertThat(atMedian).as("ticks of 600 at the median").isGreaterThan(540);
    assertThat(changes(limits)).as("changes in 600 ticks").isLessThanOrEqualTo(4);
  }

  @Test
  void aSlowerEngineBringsTheLimitDownAtOnceAndThenHoldsIt() {
    // 15% of the slots at 376 ms a request, then the engine is 4x slower: 60%.
    Engine engine = new Engine().load(12.7, 376);
    engine.run(15);
    int before = engine.limit;

    engine.holdTicks = 1440 / 50;
    List<Integer> limits = engine.run(30);

    assertThat(before).isGreaterThan(15);
    assertThat(limits.subList(0, 60)).as("within 3 s").anyMatch(l -> l <= 5);
    // From 5 s after the change the limit holds but for a step or two.
    List<Integer> after = limits.subList(100, 600);
    int median = median(after);
    assertThat(median).isBetween(1, 4);
    assertThat(Collections.max(after)).isLessThanOrEqualTo(5);
    // The mean of the first seconds of a level is still rough: one later step as it firms up.
    assertThat(changes(after)).isLessThanOrEqualTo(2);
  }

  @Test
  void aWaveOnASteadyLoadIsMetWithinOneTick() {
    Engine engine = new Engine().load(4.3, 376);
    engine.run(20);
    int steady = engine.limit;
    int inFlight = engine.batchEnds.size();
    assertThat(steady).isGreaterThan(20);

    // 60 requests/s begin: 3 in the first 50 ms.
    engine.perTick = 3;
    engine.random.setSeed(7);
    engine.run(0.05);

    assertThat(engine.last[0].interactive()).isGreaterThanOrEqualTo(3);
    assertThat(engine.limit).as("below what is in flight: no slot refilled").isLessThan(inFlight);
  }

  @Test
  void aQueueOnASteadyLoadCutsWithinOneTick() {
    Engine engine = new Engine().load(12.7, 376);
    engine.run(20);
    ControllerState steady = engine.last[0];
    int inFlight = engine.batchEnds.size();
    assertThat(inFlight).isGreaterThan(10);

    ControllerState state =
        controller.decide(
            engine.spec,
            Steering.NONE,
            steady,
            engine(32, 3),
            engine.limit,
            inFlight,
            PoolOutcomes.ZERO,
            1_000_000 + (engine.tick + 1) * Engine.TICK_50);

    assertThat(state.limit()).isLessThanOrEqualTo(inFlight - 3);
    assertThat(state.lastDecision()).isEqualTo(Decision.DOWN);
  }

  @Test
  void interactiveRequestsThatAloneFillTheEngineTakeEvenTheBatchsLastPermit() {
    Pool pool = new Pool(spec(32), 28);
    pool.ticksWithBatchFull(40, 30);
    assertThat(pool.limit).as("the configured minimum").isEqualTo(1);

    // 36 interactive requests: 31 of them run beside the batch's one, 5 wait.
    ControllerState state = pool.tick(engine(32, 5), 1);

    assertThat(state.interactive()).isEqualTo(36);
    assertThat(state.limit()).isZero();

    // Once they fit again the batch gets its minimum back, and grows from there.
    pool.tick(engine(28, 0), 0);
    assertThat(pool.limit).isEqualTo(1);
  }

  @Test
  void aStateHeartbeatedWithoutALevelStartsOne() {
    ControllerState old = ControllerState.INITIAL;
    Pool pool = new Pool(spec(32), 28);
    pool.state =
        new ControllerState(
            ProbeMode.ADAPTIVE,
            28,
            32,
            0,
            0,
            28,
            engine(28, 0),
            Decision.HOLD,
            0,
            0,
            0,
            old.window(),
            10,
            null);

    ControllerState state = pool.tick(engine(28 + 12, 8), 28);

    assertThat(state.interactiveLevel().sinceMillis()).isEqualTo(pool.now);
    assertThat(state.limit()).isLessThan(28);
  }

  @Test
  void neverGrowsFasterThanTenPercentOfCapacityATick() {
    Pool pool = new Pool(spec(100), 10);
    pool.now += 10_000;
    int before = pool.limit;
    pool.tick(engine(10, 0), 10);
    assertThat(pool.limit - before).isEqualTo(10);
  }

  @Test
  void aQueueCutsBelowWhatIsInFlightEvenWhenTheCapacityIsOverestimated() {
    Pool pool = new Pool(spec(64), 40);

    // The engine really runs 32: ours 40 in flight, 8 waiting, no interactive.
    ControllerState state = pool.tick(engine(32, 8), 40);

    assertThat(state.limit()).isLessThanOrEqualTo(32);
  }

  @Test
  void aFullKvCacheCutsBelowWhatIsInFlight() {
    Pool pool = new Pool(spec(64), 40);

    ControllerState state = pool.tick(new EngineSample(true, 1, 40, 0, 0.9, -1, -1), 40);

    assertThat(state.limit()).isLessThan(40);
  }

  @Test
  void learnsTheCapacityFromWhatTheEngineRunsWhileRequestsWait() {
    Pool pool = new Pool(spec(0), 256);

    ControllerState first = pool.tick(engine(0, 0), 0);
    assertThat(first.mode()).isEqualTo(ProbeMode.LEARNING);
    assertThat(first.limit()).isEqualTo(1);
    // The batch fills its limit; the limit grows a quarter above it each tick until the engine
    // (32 slots) queues.
    pool.ticksWithBatchFull(30, 0);

    assertThat(pool.state.learnedCapacity()).isEqualTo(32);
    assertThat(pool.state.mode()).isEqualTo(ProbeMode.ADAPTIVE);
    assertThat(pool.state.capacityEstimate()).isEqualTo(32);
    pool.ticksWithBatchFull(20, 0);
    assertThat(pool.limit).isEqualTo(28);
  }

  @Test
  void theLearnedCapacityRisesWhenTheEngineRunsMoreWithoutQueueing() {
    Pool pool = new Pool(spec(0), 10);
    pool.tick(engine(20, 3), 20);
    assertThat(pool.state.learnedCapacity()).isEqualTo(20);

    pool.tick(engine(30, 0), 20);

    assertThat(pool.state.learnedCapacity()).isEqualTo(30);
  }

  @Test
  void theLearnedCapacityDecaysSlowlyWhenTheEngineQueuesAtLess() {
    Pool pool = new Pool(spec(0), 10);
    pool.tick(engine(32, 3), 30);

    pool.tick(engine(20, 3), 20);

    assertThat(pool.state.learnedCapacity())
        .isCloseTo(32 * 0.98, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void interactiveLoadJustUnderCapacityLeavesTheMinimum() {
    Pool pool = new Pool(spec(32), 28);

    // 31 interactive requests beside 4 of the batch: 3 wait.
    ControllerState state = pool.tick(engine(32, 3), 4);

    assertThat(state.interactive()).isEqualTo(31);
    assertThat(state.limit()).isEqualTo(1);
  }

  @Test
  void theLimitStaysWithinTheConfiguredBounds() {
    PoolProbeSpec narrow =
        new PoolProbeSpec("default", List.of("u"), 1000, 5, 50, 2, 0.1, TICK, 60_000);
    Pool pool = new Pool(narrow, 40);
    pool.now += 10_000;
    for (int i = 0; i < 20; i++) {
      pool.tick(engine(pool.limit, 0), pool.limit);
    }
    assertThat(pool.limit).isEqualTo(50);

    pool.tick(engine(1000, 20), 50);
    assertThat(pool.limit).isEqualTo(5);
  }

  @Test
  void pausedSetsZeroAndPinnedHoldsThePinEvenOutsideTheBounds() {
    Pool pool = new Pool(spec(32), 28);
    pool.steering = new Steering(true, null);
    assertThat(pool.tick(engine(0, 0), 0).limit()).isZero();
    assertThat(pool.state.mode()).isEqualTo(ProbeMode.PAUSED);

    pool.steering = new Steering(false, 300);
    assertThat(pool.tick(engine(32, 50), 28).limit()).isEqualTo(300);
    assertThat(pool.state.mode()).isEqualTo(ProbeMode.PINNED);

    // Pause wins over a pin.
    pool.steering = new Steering(true, 300);
    assertThat(pool.tick(engine(0, 0), 0).limit()).isZero();
  }

  @Test
  void learningContinuesWhilePinned() {
    Pool pool = new Pool(spec(0), 28);
    pool.steering = new Steering(false, 40);

    pool.tick(engine(32, 8), 40);

    assertThat(pool.state.learnedCapacity()).isEqualTo(32);
  }

  @Test
  void withAMinimumOfZeroTheBatchStopsWhileTheInteractiveLevelLeavesNoHeadroom() {
    PoolProbeSpec noFloor =
        new PoolProbeSpec("default", List.of("u"), 32, 0, 256, 2, 0.1, TICK, 60_000);
    Pool pool = new Pool(noFloor, 28);
    pool.tick(engine(28, 0), 28);

    // 24 interactive requests on 32 slots: 32 - 24 - ceil(3 * sqrt(24)) < 0.
    ControllerState state = pool.ticksWithBatchFull(40, 24);
    assertThat(state.interactive()).isEqualTo(24);
    assertThat(state.limit()).isZero();

    // The same load on a pool whose minimum is 1 keeps one batch request running.
    Pool floored = new Pool(spec(32), 28);
    floored.tick(engine(28, 0), 28);
    assertThat(floored.ticksWithBatchFull(40, 24).limit()).isEqualTo(1);

    // Once the load falls to 4, the batch opens up again (32 - 4 - max(4, ceil(3 * 2)) = 22).
    for (int i = 0; i < 60; i++) {
      pool.ticksWithBatchFull(1, 4);
    }
    assertThat(pool.limit).isEqualTo(22);
  }

  @Test
  void aKvCacheThatStaysFullWithNothingRunningLeavesOnePermitWithAMinimumOfZero() {
    PoolProbeSpec noFloor =
        new PoolProbeSpec("default", List.of("u"), 4, 0, 256, 2, 0.1, TICK, 60_000);
    Pool pool = new Pool(noFloor, 4);
    // The engine keeps its cached prefixes and reports the cache 95% used, running or not.
    for (int i = 0; i < 30; i++) {
      int inFlight = Math.min(pool.limit, 2);
      pool.tick(new EngineSample(true, 1, inFlight, 0, 0.95, 0.05, 0.01), inFlight);
    }
    assertThat(pool.limit).isEqualTo(1);
    // Waiting requests that are not the batch's are interactive load, though: they take it.
    for (int i = 0; i < 10; i++) {
      pool.tick(engine(1, 3), 1);
    }
    assertThat(pool.limit).isZero();
  }

  @Test
  void anEngineSmallerThanTheHeadroomStillRunsTheBatchWhileNoInteractiveRequestIsThere() {
    // Two slots, and a headroom of at least two: the steady target is 0 or less.
    PoolProbeSpec tiny =
        new PoolProbeSpec("default", List.of("u"), 2, 0, 256, 2, 0.1, TICK, 60_000);
    Pool pool = new Pool(tiny, 2);
    for (int i = 0; i < 20; i++) {
      pool.tick(engine(pool.limit, 0), pool.limit);
    }
    assertThat(pool.limit).isEqualTo(1);
    // One interactive request arrives: the batch makes way.
    for (int i = 0; i < 20; i++) {
      pool.tick(engine(1 + Math.min(pool.limit, 1), 0), Math.min(pool.limit, 1));
    }
    assertThat(pool.limit).isZero();
  }

  @Test
  void theFallbackNeverCutsToZeroEvenWithAMinimumOfZero() {
    PoolProbeSpec noFloor =
        new PoolProbeSpec("default", List.of("u"), 0, 0, 256, 2, 0.1, TICK, 60_000);
    Pool pool = new Pool(noFloor, 1);
    for (int i = 0; i < 11; i++) {
      pool.tick(EngineSample.UNREACHABLE, 0);
    }
    assertThat(pool.state.mode()).isEqualTo(ProbeMode.FALLBACK);
    // Drops window after window: 1 * 0.6 rounds down to 0, held at 1 so outcomes keep coming.
    for (int i = 0; i < 20; i++) {
      pool.tick(EngineSample.UNREACHABLE, pool.limit, new PoolOutcomes(0, 1, 0, 0));
    }
    assertThat(pool.limit).isEqualTo(1);
    for (int i = 0; i < 10; i++) {
      pool.tick(EngineSample.UNREACHABLE, pool.limit, new PoolOutcomes(1, 0, 0, 100_000_000L));
    }
    assertThat(pool.limit).isGreaterThan(1);
  }

  @Test
  void briefGapsInTheMetricsHoldTheLimit() {
    Pool pool = new Pool(spec(32), 28);
    pool.tick(engine(28, 0), 28);

    ControllerState state = pool.tick(EngineSample.UNREACHABLE, 28);

    assertThat(state.limit()).isEqualTo(28);
    assertThat(state.mode()).isEqualTo(ProbeMode.ADAPTIVE);
    assertThat(state.unreachableSinceMillis()).isEqualTo(pool.now);
  }

  @Test
  void withoutMetricsTheFallbackStartsLowThenGrowsByOneWhileLatencyHolds() {
    Pool pool = new Pool(spec(0), 256);
    for (int i = 0; i < 11; i++) {
      pool.tick(EngineSample.UNREACHABLE, 0);
    }
    assertThat(pool.state.mode()).isEqualTo(ProbeMode.FALLBACK);
    assertThat(pool.limit).isEqualTo(16);

    // Five ticks make a window; 10 successes of 100 ms each, limit binding.
    for (int i = 0; i < 5; i++) {
      pool.tick(EngineSample.UNREACHABLE, 16, new PoolOutcomes(2, 0, 0, 200_000_000L));
    }
    assertThat(pool.limit).isEqualTo(17);
    assertThat(pool.state.minLatencyMillis()).isEqualTo(100);
  }

  @Test
  void fallbackCutsOnDropsAndOnRisingLatency() {
    Pool pool = new Pool(spec(0), 256);
    for (int i = 0; i < 11; i++) {
      pool.tick(EngineSample.UNREACHABLE, 0);
    }
    for (int i = 0; i < 5; i++) {
      pool.tick(EngineSample.UNREACHABLE, 16, new PoolOutcomes(2, 0, 0, 200_000_000L));
    }
    assertThat(pool.limit).isEqualTo(17);

    for (int i = 0; i < 5; i++) {
      pool.tick(EngineSample.UNREACHABLE, 17, new PoolOutcomes(2, 0, 0, 600_000_000L));
    }
    assertThat(pool.limit).as("latency 3x its minimum").isEqualTo(15);

    for (int i = 0; i < 5; i++) {
      pool.tick(EngineSample.UNREACHABLE, 15, new PoolOutcomes(1, 1, 0, 100_000_000L));
    }
    assertThat(pool.limit).as("a drop").isEqualTo(9);
  }

  @Test
  void fallbackDoesNotGrowALimitTheBatchDoesNotReach() {
    Pool pool = new Pool(spec(0), 256);
    for (int i = 0; i < 11; i++) {
      pool.tick(EngineSample.UNREACHABLE, 0);
    }
    for (int i = 0; i < 10; i++) {
      pool.tick(EngineSample.UNREACHABLE, 3, new PoolOutcomes(2, 0, 0, 200_000_000L));
    }
    assertThat(pool.limit).isEqualTo(16);
  }

  @Test
  void fallbackKeepsAKnownCapacityAsItsCeiling() {
    Pool pool = new Pool(spec(20), 18);
    for (int i = 0; i < 11; i++) {
      pool.tick(EngineSample.UNREACHABLE, 0);
    }
    assertThat(pool.limit).isEqualTo(18);
    for (int i = 0; i < 50; i++) {
      pool.tick(EngineSample.UNREACHABLE, pool.limit, new PoolOutcomes(2, 0, 0, 200_000_000L));
    }
    assertThat(pool.limit).isEqualTo(18);
  }

  @Test
  void metricsComingBackLeaveTheFallback() {
    Pool pool = new Pool(spec(32), 28);
    for (int i = 0; i < 11; i++) {
      pool.tick(EngineSample.UNREACHABLE, 0);
    }
    assertThat(pool.state.mode()).isEqualTo(ProbeMode.FALLBACK);

    pool.tick(engine(0, 0), 0);

    assertThat(pool.state.mode()).isEqualTo(ProbeMode.ADAPTIVE);
    assertThat(pool.state.unreachableSinceMillis()).isZero();
  }
}
