package dev.batchgateway.workflows.capacity;

/**
 * What the controller remembers between ticks; heartbeated by the probe activity and carried across
 * activity retries and continue-as-new.
 *
 * @param mode how the last limit was chosen
 * @param limit the limit last set; -1 before the first tick
 * @param capacityEstimate the capacity the last decision used: configured or learned; 0 = unknown
 * @param learnedCapacity what the engines ran while they queued (decays slowly), raised by what
 *     they ran without queueing; 0 = never seen queueing
 * @param interactive requests in the engines that are not ours, at the last tick
 * @param inFlight batch requests in flight at the last tick
 * @param lastSample the last engine reading
 * @param lastDecision which way the last tick moved the limit
 * @param lastDownMillis when the limit last went down; growth waits a little after it
 * @param unreachableSinceMillis when the engine metrics stopped answering; 0 = they answer
 * @param minLatencyMillis the lowest mean batch latency seen (fallback only); 0 = none yet
 * @param window outcomes gathered for the fallback's next decision
 * @param decisions ticks decided so far
 * @param interactiveLevel the smoothed interactive load and the steady limit it calls for
 */
public record ControllerState(
    ProbeMode mode,
    int limit,
    int capacityEstimate,
    double learnedCapacity,
    int interactive,
    int inFlight,
    EngineSample lastSample,
    Decision lastDecision,
    long lastDownMillis,
    long unreachableSinceMillis,
    double minLatencyMillis,
    OutcomeWindow window,
    long decisions,
    InteractiveLevel interactiveLevel) {

  public ControllerState {
    // A state heartbeated before the level existed (an older worker) carries none.
    interactiveLevel = interactiveLevel == null ? InteractiveLevel.NONE : interactiveLevel;
  }

  public static final ControllerState INITIAL =
      new ControllerState(
          ProbeMode.STARTING,
          -1,
          0,
          0,
          0,
          0,
          EngineSample.UNREACHABLE,
          Decision.HOLD,
          0,
          0,
          0,
          new OutcomeWindow(0, 0, 0, 0),
          0,
          InteractiveLevel.NONE);
}
