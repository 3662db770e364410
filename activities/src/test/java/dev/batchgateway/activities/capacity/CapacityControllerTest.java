package dev.batchgateway.activities.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.activities.port.PoolOutcomes;
import dev.batchgateway.workflows.capacity.ControllerState;
import dev.batchgateway.workflows.capacity.Decision;
import dev.batchgateway.workflows.capacity.EngineSample;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import dev.batchgateway.workflows.capacity.ProbeMode;
import dev.batchgateway.workflows.capacity.Steering;
import java.util.List;
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

    ControllerState state = pool.tick(engine(0, 0), 0);

    assertThat(state.mode()).isEqualTo(ProbeMode.ADAPTIVE);
    assertThat(state.limit()).isEqualTo(32 - 4);
    assertThat(state.lastDecision()).isEqualTo(Decision.DOWN);
  }

  @Test
  void anInteractiveBurstLowersTheLimitAtOnce() {
    Pool pool = new Pool(spec(32), 28);
    pool.tick(engine(28, 0), 28);

    // 12 interactive requests arrive: the engine runs 32 and queues 8.
    ControllerState state = pool.tick(engine(32, 8), 28);

    assertThat(state.interactive()).isEqualTo(12);
    // Rising by 12 a tick, it is expected at 24 by the next: 32 - 24 - ceil(2 * sqrt(24)) < 1.
    assertThat(state.interactivePeak()).isEqualTo(24);
    assertThat(state.limit()).isEqualTo(1);
    assertThat(state.lastDecision()).isEqualTo(Decision.DOWN);
  }

  @Test
  void aSteadyInteractiveLoadLeavesCapacityMinusLoadMinusTwoSigmas() {
    Pool pool = new Pool(spec(32), 13);
    pool.tick(engine(13 + 12, 0), 13);
    pool.now += 10_000; // the rise above is long forgotten

    ControllerState state = pool.tick(engine(13 + 12, 0), 13);

    assertThat(state.interactive()).isEqualTo(12);
    // Headroom: two standard deviations of 12 Poisson arrivals, ceil(2 * sqrt(12)) = 7 (> 10%).
    assertThat(state.limit()).isEqualTo(32 - 12 - 7);
  }

  @Test
  void jitterOfARequestOrTwoIsNotReadAsARisingWave() {
    Pool pool = new Pool(spec(32), 28);
    pool.tick(engine(28, 0), 28);

    ControllerState state = pool.tick(engine(30, 0), 28);

    assertThat(state.interactive()).isEqualTo(2);
    assertThat(state.interactivePeak()).isEqualTo(2);
  }

  @Test
  void aRisingWaveIsMetWhereItWillBeByTheNextTickNotWhereItIs() {
    Pool pool = new Pool(spec(32), 28);
    pool.tick(engine(28, 0), 28);

    // The first 3 requests of a wave, no queue yet: the batch stops refilling the slots the
    // next 3 will need, so the engine never queues them behind batch requests.
    ControllerState state = pool.tick(engine(31, 0), 28);

    assertThat(state.interactive()).isEqualTo(3);
    assertThat(state.interactivePeak()).isEqualTo(6);
    assertThat(state.limit()).isEqualTo(32 - 6 - 5).isLessThan(28 - 3);
  }

  @Test
  void whenInteractiveLoadEndsTheLimitGrowsBackGentlyToCapacityMinusHeadroom() {
    Pool pool = new Pool(spec(32), 28);
    pool.ticksWithBatchFull(3, 12);
    assertThat(pool.limit).isEqualTo(13);

    // Quiet: the first second holds, then the limit follows the fading interactive peak (1.28
    // a tick: 20% of 32 per second), never by more than 4 (10% of 32) a tick.
    pool.tick(engine(13, 0), 13);
    assertThat(pool.state.lastDecision()).isEqualTo(Decision.HOLD);
    int ticks = 0;
    while (pool.limit < 28 && ticks < 100) {
      int before = pool.limit;
      pool.ticksWithBatchFull(1, 0);
      assertThat(pool.limit - before).isBetween(0, 4);
      ticks++;
    }
    assertThat(pool.limit).isEqualTo(28);
    assertThat(ticks).as("about two seconds for a peak of 12 to fade").isBetween(8, 16);
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
    assertThat(pool.limit).as("the peak still holds the slots").isLessThanOrEqualTo(during + 4);
    assertThat(pool.state.interactivePeak()).isGreaterThan(10);
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
  void interactiveLoadBeyondCapacityLeavesTheMinimum() {
    Pool pool = new Pool(spec(32), 28);

    ControllerState state = pool.tick(engine(32, 20), 4);

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

    pool.tick(engine(1000, 500), 50);
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
