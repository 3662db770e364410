package dev.batchgateway.workflows.capacity;

/**
 * The controller's estimate of the interactive load on the engines, kept between ticks.
 *
 * @param fast a quick moving average of the interactive count, which shows a change of level
 * @param mean the average interactive count since the level last changed (over a bounded window):
 *     the steady level the batch leaves room for
 * @param sinceMillis when the level last changed; 0 = no reading yet
 * @param steadyTarget the batch limit the steady level calls for, moved only by a change larger
 *     than its hysteresis; -1 = none yet
 */
public record InteractiveLevel(double fast, double mean, long sinceMillis, int steadyTarget) {
  public static final InteractiveLevel NONE = new InteractiveLevel(0, 0, 0, -1);
}
