package dev.batchgateway.activities.capacity;

import dev.batchgateway.activities.port.PoolOutcomes;
import dev.batchgateway.workflows.capacity.ControllerState;
import dev.batchgateway.workflows.capacity.Decision;
import dev.batchgateway.workflows.capacity.EngineSample;
import dev.batchgateway.workflows.capacity.InteractiveLevel;
import dev.batchgateway.workflows.capacity.OutcomeWindow;
import dev.batchgateway.workflows.capacity.PoolProbeSpec;
import dev.batchgateway.workflows.capacity.ProbeMode;
import dev.batchgateway.workflows.capacity.Steering;

/**
 * Decides a pool's batch limit from one engine reading. Pure: the same inputs give the same state.
 *
 * <p>With engine metrics: interactive = running + waiting - our in-flight. Two limits apply, the
 * lower wins:
 *
 * <ul>
 *   <li>The steady limit: capacity - level - headroom, where the level is the mean interactive
 *       count since it last changed (over at most {@value #MEAN_WINDOW_MILLIS} ms) and the headroom
 *       a share of the capacity, and at least {@value #HEADROOM_SIGMAS} standard deviations of a
 *       Poisson count around the level. Interactive counts jitter by their square root from tick to
 *       tick; a mean over seconds does not, and the steady limit moves only when it has changed by
 *       more than its hysteresis ({@value #STEADY_HYSTERESIS} permits, or a tenth; none in the
 *       first {@value #SETTLING_MILLIS} ms of a level; at most a tenth of the capacity), so a
 *       steady load gets a steady limit. A change of level shows as a quick ({@value #FAST_MILLIS}
 *       ms) average rising {@value #CHANGE_SIGMAS} standard deviations (plus one) above the mean,
 *       or falling below half of it (or as far): the mean starts over from the reading.
 *   <li>The immediate limit: what the engine's slots leave beside the interactive count now. While
 *       the count rises (by more than jitter) it is expected to rise as much again by the next tick
 *       and the full headroom is kept around where it will be: a wave fills the engine within one
 *       request time, and a limit that only follows the count lets the batch refill the slots the
 *       wave is about to need. Otherwise the batch may fill what the count leaves: the steady limit
 *       keeps the headroom, and cutting it again for every upward wander of a steady count would
 *       only make the limit jitter.
 * </ul>
 *
 * <p>A lower limit applies at once, and a queue in the engine (or a KV cache past {@value
 * #KV_SATURATED}) cuts below what is in flight; while interactive requests alone need every slot
 * the limit is 0, below the configured minimum (with the default minimum of 0 the batch also stops
 * whenever the interactive level and its headroom leave no slot); a higher one is approached in
 * steps, and only after the limit has not gone down for {@value #UP_COOLDOWN_MILLIS} ms, so a burst
 * that is still arriving is not raced. Capacity is the configured {@code maxConcurrency}, else
 * learned: what the engines run while requests wait is what they can run. Until it is learned the
 * limit grows a quarter above what is in flight each tick until the engine queues. Once it is
 * known, the limit is also never more than one step ({@value #UP_STEP_FRACTION} of the capacity)
 * above what is in flight (slow start): a batch that starts on an idle pool, or finds room again,
 * opens up over several ticks, so its requests do not start and end in step with each other.
 *
 * <p>Without engine metrics (for {@value #FALLBACK_AFTER_MILLIS} ms): additive increase,
 * multiplicative decrease on batch outcomes over {@value #FALLBACK_WINDOW_MILLIS} ms windows.
 */
public final class CapacityController {
  /** llm-d's endpoint picker calls an engine saturated at this KV-cache use. */
  static final double KV_SATURATED = 0.8;

  /** Time constant of the quick average of the interactive count that shows a change of level. */
  static final long FAST_MILLIS = 1000;

  /** The longest the level averages over: a longer mean is steadier but follows a drift slower. */
  static final long MEAN_WINDOW_MILLIS = 20_000;

  /**
   * The quick average this many standard deviations of the count (plus one) off the mean is a new
   * level: averaged over a second, the quick one wanders less than the count itself.
   */
  static final double CHANGE_SIGMAS = 2.0;

  /** For this long after the level changes its mean follows its readings without hysteresis. */
  static final long SETTLING_MILLIS = 4000;

  /** The steady limit moves only by at least this many permits (or a tenth of it, if more). */
  static final int STEADY_HYSTERESIS = 3;

  /**
   * Headroom in standard deviations of the interactive count (Poisson: sqrt of the mean). At 18
   * interactive requests on 32 slots, the count alone passes 32 0.14% of the time; with the 3 batch
   * slots 2.5 sigmas left, interactive requests queued 0.8% of the time (six times as often) and
   * p99 TTFT showed it; with the 1 slot 3 sigmas leave, 0.25%.
   */
  static final double HEADROOM_SIGMAS = 3.0;

  /** A rise of the interactive count by at most this much a tick is read as jitter. */
  static final double RISE_NOISE = 2.0;

  /** A count this many times the rise noise above its level is a wave on its way up. */
  static final double SURGE_SIGMAS = 2.0;

  /** Time without a decrease before the limit may grow again. */
  static final long UP_COOLDOWN_MILLIS = 1000;

  /** Growth per tick, as a share of the capacity: 0 to full in ten ticks. */
  static final double UP_STEP_FRACTION = 0.1;

  /** Growth per tick above what is in flight while the capacity is unknown. */
  static final double LEARNING_STEP_FRACTION = 0.25;

  /**
   * Each reading taken while the engines queue lowers the learned capacity by this share at most.
   */
  static final double LEARNED_DECAY = 0.02;

  /** Metrics missing this long switch to the fallback; shorter gaps hold the limit. */
  static final long FALLBACK_AFTER_MILLIS = 2000;

  static final long FALLBACK_WINDOW_MILLIS = 1000;
  static final double FALLBACK_DROP_FACTOR = 0.6;
  static final double FALLBACK_LATENCY_FACTOR = 0.9;

  /** Mean batch latency this many times its minimum counts as queueing. */
  static final double FALLBACK_LATENCY_RATIO = 2.0;

  /** The minimum latency forgets this share per window, so a slower workload is not punished. */
  static final double FALLBACK_MIN_LATENCY_DRIFT = 0.01;

  /** Where the fallback starts when it knows no capacity and the limit is higher. */
  static final int FALLBACK_START_PERMITS = 16;

  /**
   * One tick.
   *
   * @param currentLimit the limiter's limit now (the knob is the truth, not the state)
   * @param inFlight batch requests in flight now
   * @param outcomes batch outcomes since the previous tick
   */
  public ControllerState decide(
      PoolProbeSpec spec,
      Steering steering,
      ControllerState previous,
      EngineSample sample,
      int currentLimit,
      int inFlight,
      PoolOutcomes outcomes,
      long nowMillis) {
    Tick tick = new Tick(spec, previous, sample, currentLimit, inFlight, outcomes, nowMillis);
    if (steering.paused()) {
      return tick.set(ProbeMode.PAUSED, 0);
    }
    if (steering.pinned()) {
      return tick.set(ProbeMode.PINNED, Math.max(0, steering.pinnedPermits()));
    }
    if (sample.reachable()) {
      return tick.adaptive();
    }
    if (previous.unreachableSinceMillis() == 0
        || nowMillis - previous.unreachableSinceMillis() < FALLBACK_AFTER_MILLIS) {
      return tick.holdWhileUnreachable();
    }
    return tick.fallback();
  }

  /** The working of one decision. */
  private static final class Tick {
    private final PoolProbeSpec spec;
    private final ControllerState previous;
    private final EngineSample sample;
    private final int currentLimit;
    private final int inFlight;
    private final long now;
    private final double learned;
    private final int capacity;
    private final int interactive;
    private InteractiveLevel level;
    private final boolean rising;
    private final int expected;
    private final long unreachableSince;
    private OutcomeWindow window;

    Tick(
        PoolProbeSpec spec,
        ControllerState previous,
        EngineSample sample,
        int currentLimit,
        int inFlight,
        PoolOutcomes outcomes,
        long now) {
      this.spec = spec;
      this.previous = previous;
      this.sample = sample;
      this.currentLimit = currentLimit;
      this.inFlight = inFlight;
      this.now = now;
      this.learned = learn(previous.learnedCapacity(), sample);
      this.capacity = spec.maxConcurrency() > 0 ? spec.maxConcurrency() : (int) Math.round(learned);
      this.interactive =
          sample.reachable() ? Math.max(0, sample.running() + sample.waiting() - inFlight) : 0;
      this.expected =
          sample.reachable() ? expectedInteractive(previous, interactive, sample.waiting()) : 0;
      this.rising = expected > interactive;
      this.level =
          sample.reachable()
              ? level(previous, interactive, spec.intervalMillis(), now)
              : previous.interactiveLevel();
      this.unreachableSince =
          sample.reachable()
              ? 0
              : previous.unreachableSinceMillis() == 0 ? now : previous.unreachableSinceMillis();
      OutcomeWindow w = previous.window();
      if (w.startMillis() == 0) {
        w = new OutcomeWindow(now, 0, 0, 0);
      }
      this.window = w.add(outcomes.succeeded(), outcomes.dropped(), outcomes.latencyNanosTotal());
    }

    /**
     * While requests wait, the engines run all they can: that count is the capacity (a full KV
     * cache can hold it below max-num-seqs). Momentary dips only wear the estimate down slowly.
     * Running more than the estimate without a queue proves the estimate low.
     */
    private static double learn(double learned, EngineSample sample) {
      if (!sample.reachable() || sample.running() == 0) {
        return learned;
      }
      if (sample.waiting() > 0) {
        return learned == 0
            ? sample.running()
            : Math.max(sample.running(), learned * (1 - LEARNED_DECAY));
      }
      return learned > 0 && sample.running() > learned ? sample.running() : learned;
    }

    /**
     * Where interactive traffic will be by the next tick if it keeps rising as it did since the
     * last one. A wave of interactive requests fills the engine within one request time; a limit
     * that only follows the count lets the batch refill the slots the wave is about to need, and
     * the wave then queues behind batch requests for a whole batch request time.
     */
    private static int expectedInteractive(ControllerState previous, int interactive, int waiting) {
      if (!previous.lastSample().reachable()) {
        return interactive;
      }
      int rise = interactive - previous.interactive();
      // Readings of the engine and of our in-flight count are a few ms apart, so the count
      // jitters by a request or two (and a steady load by about its square root): a rise within
      // that is noise, not a wave.
      double noise = Math.max(RISE_NOISE, Math.sqrt(previous.interactive()));
      // A count coming back from a dip to its usual level is not a wave either: a wave lifts it
      // above the level.
      double mean = previous.interactiveLevel().mean();
      boolean aboveLevel = interactive > mean + noise;
      // A wave that arrives a few requests a tick rises by less than the noise each tick, and
      // would be seen only once it has filled the room the batch left. A count far above its
      // level, or above it with requests already queued in the engine, is one on its way up.
      boolean surge = waiting > 0 || interactive > mean + SURGE_SIGMAS * noise;
      if (aboveLevel && (rise > noise || surge)) {
        return interactive + Math.max(rise, (int) Math.ceil(noise));
      }
      return interactive;
    }

    /**
     * The interactive level, moved by one reading. Within a level the mean is a plain average since
     * the level began (the first readings count fully) and then an average over {@value
     * #MEAN_WINDOW_MILLIS} ms; when the quick average leaves it by more than the jitter of a
     * Poisson count, the level has changed (a wave began or ended, the engine slowed) and the mean
     * starts over from this reading.
     */
    private static InteractiveLevel level(
        ControllerState previous, int interactive, long tickMillis, long now) {
      InteractiveLevel last = previous.interactiveLevel();
      if (!previous.lastSample().reachable() || last.sinceMillis() == 0) {
        return new InteractiveLevel(interactive, interactive, now, last.steadyTarget());
      }
      double fast =
          last.fast()
              + Math.min(1.0, (double) tickMillis / FAST_MILLIS) * (interactive - last.fast());
      double jitter = CHANGE_SIGMAS * Math.sqrt(Math.max(1.0, last.mean())) + 1;
      // A small load that ends moves the average by less than its jitter: halving it is a change
      // too (at 4 requests, a wander down to 2 for a whole second is rare; up to 9 is a wave).
      double drop = Math.min(jitter, Math.max(1.0, last.mean() / 2));
      if (fast - last.mean() > jitter || last.mean() - fast > drop) {
        // The quick average lags; the reading is where the new level is, and the readings after
        // it average its noise away.
        return new InteractiveLevel(fast, interactive, now, last.steadyTarget());
      }
      double readings = (double) (now - last.sinceMillis()) / Math.max(1, tickMillis);
      double weight = Math.max((double) tickMillis / MEAN_WINDOW_MILLIS, 1 / (readings + 1));
      double mean = last.mean() + weight * (interactive - last.mean());
      return new InteractiveLevel(fast, mean, last.sinceMillis(), last.steadyTarget());
    }

    /** Free slots left for what interactive traffic around {@code level} brings next. */
    int headroom(double level) {
      int share = (int) Math.ceil(spec.headroomFraction() * capacity);
      int spread = (int) Math.ceil(HEADROOM_SIGMAS * Math.sqrt(Math.max(0, level)));
      return Math.max(spec.minHeadroom(), Math.max(share, spread));
    }

    int headroom() {
      return headroom(level.mean());
    }

    /**
     * The steady limit for the level now, or the one in force if it is within its hysteresis: a
     * mean of a Poisson count still wanders by a permit or so, and a limit that followed it would
     * never settle.
     */
    int steadyTarget() {
      double mean = level.mean();
      int fresh = clamp(capacity - (int) Math.round(mean) - headroom(mean));
      int held = level.steadyTarget();
      if (held < 0 || now - level.sinceMillis() < SETTLING_MILLIS) {
        // A new level's first readings move its mean most: follow them until it has settled.
        return fresh;
      }
      // Never more than a tenth of the capacity: on a small engine three permits are a third of
      // it, and a target held that far from its level wastes (or takes) that much for as long as
      // the mean needs to wander a whole band.
      int band =
          Math.min(
              Math.max(STEADY_HYSTERESIS, (int) Math.ceil(0.1 * held)),
              Math.max(1, (int) Math.ceil(0.1 * capacity)));
      return Math.abs(fresh - held) >= band ? fresh : held;
    }

    /** What the engine's slots leave now beside the interactive count (and where it is heading). */
    int immediateTarget() {
      int room = rising ? headroom(expected) : 0;
      return capacity - expected - room;
    }

    int clamp(int permits) {
      return Math.max(spec.minPermits(), Math.min(spec.maxPermits(), permits));
    }

    /**
     * The fallback's bounds: never below one permit. It hears the engine only through batch
     * outcomes, and a limit of 0 would leave it none to grow back on.
     */
    int clampFallback(int permits) {
      return Math.max(1, clamp(permits));
    }

    ControllerState adaptive() {
      int target;
      ProbeMode mode;
      if (capacity > 0) {
        mode = ProbeMode.ADAPTIVE;
        int steady = steadyTarget();
        level = new InteractiveLevel(level.fast(), level.mean(), level.sinceMillis(), steady);
        target = Math.min(steady, immediateTarget());
      } else {
        mode = ProbeMode.LEARNING;
        target = inFlight + Math.max(1, (int) Math.ceil(LEARNING_STEP_FRACTION * inFlight));
      }
      // A queue or a full KV cache cuts the batch back, but to no less than one request: the batch
      // is how the controller hears whether the cut helped, and a cache that stays full with
      // nothing running (cached prefixes the engine counts as used) would otherwise hold a limit
      // of 0 for good. Only interactive load takes the last permit (the targets above).
      if (sample.waiting() > 0) {
        target = Math.min(target, Math.max(1, inFlight - sample.waiting()));
      }
      if (sample.kvCacheUsage() > KV_SATURATED) {
        target =
            Math.min(target, Math.max(1, inFlight - Math.max(1, (int) Math.ceil(0.1 * inFlight))));
      }
      target = clamp(target);
      if (target < 1 && interactive == 0 && !rising) {
        // Below the minimum only to make room for interactive requests: with none on the engines
        // there is nobody to make room for, and a capacity learned (or configured) below the
        // headroom would otherwise stop the batch for good, with nothing running to correct it.
        target = Math.min(1, spec.maxPermits());
      }
      if (capacity > 0 && interactive >= capacity) {
        // Interactive requests alone fill every slot and queue: a batch request would only make
        // one of them wait longer, so the batch gives up even its minimum until they fit again.
        target = 0;
      }
      int base = clamp(currentLimit);
      int limit;
      if (target <= base) {
        limit = target;
      } else if (now - previous.lastDownMillis() < UP_COOLDOWN_MILLIS) {
        limit = base;
      } else if (mode == ProbeMode.LEARNING) {
        limit = target;
      } else {
        limit = Math.min(target, base + upStep());
      }
      if (mode == ProbeMode.ADAPTIVE) {
        // Slow start: the batch opens up by one step a tick from what it has in flight, whatever
        // the limit allows. Its requests then start (and end) spread over a request time rather
        // than together, and an interactive wave finds batch slots freeing one after another
        // instead of all at once a whole request time later. Not a cut: growth does not wait.
        return next(mode, Math.min(limit, clamp(inFlight + upStep())), limit < currentLimit);
      }
      return next(mode, limit);
    }

    /** The most the limit grows in one tick: a tenth of the capacity, so empty to full in ten. */
    int upStep() {
      return Math.max(1, (int) Math.ceil(UP_STEP_FRACTION * capacity));
    }

    ControllerState holdWhileUnreachable() {
      return next(previous.mode(), currentLimit);
    }

    ControllerState fallback() {
      int base = clampFallback(currentLimit);
      int ceiling = capacity > 0 ? clampFallback(capacity - headroom()) : spec.maxPermits();
      if (previous.mode() != ProbeMode.FALLBACK) {
        // Entering: start low enough that the latency the fallback sees first is not queued.
        int start = capacity > 0 ? ceiling : clampFallback(FALLBACK_START_PERMITS);
        window = new OutcomeWindow(now, 0, 0, 0);
        return next(ProbeMode.FALLBACK, Math.min(base, start), previous.minLatencyMillis());
      }
      if (now - window.startMillis() < FALLBACK_WINDOW_MILLIS) {
        return next(ProbeMode.FALLBACK, Math.min(base, ceiling), previous.minLatencyMillis());
      }
      OutcomeWindow done = window;
      window = new OutcomeWindow(now, 0, 0, 0);
      double minLatency = previous.minLatencyMillis();
      int limit = base;
      if (done.dropped() > 0) {
        limit = (int) Math.floor(base * FALLBACK_DROP_FACTOR);
      } else if (done.succeeded() > 0) {
        double mean = done.meanLatencyMillis();
        minLatency =
            minLatency == 0 ? mean : Math.min(mean, minLatency * (1 + FALLBACK_MIN_LATENCY_DRIFT));
        if (mean > FALLBACK_LATENCY_RATIO * minLatency) {
          limit = (int) Math.floor(base * FALLBACK_LATENCY_FACTOR);
        } else if (inFlight >= base * 0.8) {
          // Grow only a limit that binds: one the batch does not reach says nothing.
          limit = base + 1;
        }
      }
      return next(ProbeMode.FALLBACK, Math.min(clampFallback(limit), ceiling), minLatency);
    }

    ControllerState set(ProbeMode mode, int limit) {
      return next(mode, limit);
    }

    private ControllerState next(ProbeMode mode, int limit) {
      return next(mode, limit, previous.minLatencyMillis(), limit < currentLimit);
    }

    private ControllerState next(ProbeMode mode, int limit, boolean cut) {
      return next(mode, limit, previous.minLatencyMillis(), cut);
    }

    private ControllerState next(ProbeMode mode, int limit, double minLatencyMillis) {
      return next(mode, limit, minLatencyMillis, limit < currentLimit);
    }

    /**
     * @param cut whether the limit went down because there is less room (growth then waits), rather
     *     than only to pace a batch that has not used it
     */
    private ControllerState next(ProbeMode mode, int limit, double minLatencyMillis, boolean cut) {
      Decision decision =
          limit < currentLimit ? Decision.DOWN : limit > currentLimit ? Decision.UP : Decision.HOLD;
      return new ControllerState(
          mode,
          limit,
          capacity,
          learned,
          interactive,
          inFlight,
          sample,
          decision,
          cut ? now : previous.lastDownMillis(),
          unreachableSince,
          minLatencyMillis,
          mode == ProbeMode.FALLBACK ? window : new OutcomeWindow(0, 0, 0, 0),
          previous.decisions() + 1,
          level);
    }
  }
}
