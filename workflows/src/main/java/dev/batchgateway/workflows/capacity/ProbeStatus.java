package dev.batchgateway.workflows.capacity;

/**
 * The answer to the {@code state} query.
 *
 * @param spec the pool and the controller's settings
 * @param steering pause and pin as the workflow holds them
 * @param state the controller's state when its last probe run returned (the pending activity's
 *     heartbeat in the UI is fresher)
 * @param asOfMillis workflow time of that state
 * @param iteration probe runs so far in this workflow run
 */
public record ProbeStatus(
    PoolProbeSpec spec, Steering steering, ControllerState state, long asOfMillis, int iteration) {}
