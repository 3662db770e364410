package dev.batchgateway.activities.chunk;

import dev.batchgateway.activities.model.BatchControl;
import java.util.Optional;

/** How a running chunk reports progress and learns that its batch was stopped. */
public interface ChunkControl {

  /** Records a checkpoint: segments written so far and lines finished. */
  void checkpoint(int segmentsDone, long linesDone);

  /** True once the batch was cancelled or expired; the chunk then saves what it has and stops. */
  boolean stopRequested();

  /**
   * The batch as last read while checking for a stop: its current priority and pace, which every
   * permit request carries. Empty until read; the chunk then uses the values it was launched with.
   */
  default Optional<BatchControl> latest() {
    return Optional.empty();
  }

  /**
   * True once this worker is shutting down: the chunk sends nothing new, lets the requests on the
   * wire answer, saves everything and ends so another worker takes over.
   */
  default boolean draining() {
    return false;
  }

  /** True once a drain's grace period is over: requests still on the wire are then cut. */
  default boolean drainGraceOver() {
    return false;
  }
}
