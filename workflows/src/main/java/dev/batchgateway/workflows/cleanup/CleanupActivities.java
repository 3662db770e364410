package dev.batchgateway.workflows.cleanup;

import io.temporal.activity.ActivityInterface;

/**
 * The steps of a cleanup pass. Each handles at most one page and is safe to repeat: a row it
 * already handled is not picked again.
 */
@ActivityInterface
public interface CleanupActivities {

  /**
   * Marks deleted the files whose expiry has passed, except an input file of a batch that has not
   * ended yet.
   */
  CleanupCount expireFiles(CleanupPage page);

  /** Removes the bytes of deleted files from the file store. */
  CleanupCount purgeFiles(CleanupPage page);

  /** Removes the work folders (chunk inputs, checkpoints) of batches that have ended. */
  CleanupCount purgeBatchWork(CleanupWorkPage page);

  /** Deletes the records of batches that ended before the retention cut-off. */
  CleanupCount deleteBatches(CleanupWorkPage page);
}
