package dev.batchgateway.workflows.capacity;

/**
 * Batch request outcomes gathered since {@code startMillis}, for the fallback controller, which
 * decides on windows long enough to hold a few requests.
 */
public record OutcomeWindow(long startMillis, long succeeded, long dropped, long latencyNanos) {

  public OutcomeWindow add(long moreSucceeded, long moreDropped, long moreLatencyNanos) {
    return new OutcomeWindow(
        startMillis,
        succeeded + moreSucceeded,
        dropped + moreDropped,
        latencyNanos + moreLatencyNanos);
  }

  public double meanLatencyMillis() {
    return succeeded == 0 ? 0 : latencyNanos / 1e6 / succeeded;
  }
}
