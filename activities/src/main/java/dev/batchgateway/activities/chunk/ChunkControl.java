package dev.batchgateway.activities.chunk;

/** How a running chunk reports progress and learns that its batch was stopped. */
public interface ChunkControl {

  /** Records a checkpoint: segments written so far and lines finished. */
  void checkpoint(int segmentsDone, long linesDone);

  /** True once the batch was cancelled or expired; the chunk then saves what it has and stops. */
  boolean stopRequested();
}
