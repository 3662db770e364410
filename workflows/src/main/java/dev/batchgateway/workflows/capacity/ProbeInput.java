package dev.batchgateway.workflows.capacity;

/**
 * The probe workflow's input, and what it continues as new with.
 *
 * @param spec the pool and the controller's settings
 * @param steering pause and pin, kept across continue-as-new
 * @param state the controller's memory, kept across continue-as-new
 * @param iterationsPerRun probe activities run before continuing as new, bounding history
 */
public record ProbeInput(
    PoolProbeSpec spec, Steering steering, ControllerState state, int iterationsPerRun) {

  public static final int DEFAULT_ITERATIONS_PER_RUN = 100;

  public static ProbeInput start(PoolProbeSpec spec) {
    return new ProbeInput(spec, Steering.NONE, ControllerState.INITIAL, DEFAULT_ITERATIONS_PER_RUN);
  }
}
