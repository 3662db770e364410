package dev.batchgateway.activities.port;

import java.util.List;

/**
 * What cleanup reads and writes about files and batches, across every tenant. Each call handles at
 * most {@code limit} rows and leaves nothing half done: a row it returns stays picked until its
 * matching {@code mark} call.
 */
public interface CleanupStore {

  /**
   * Marks deleted, at {@code asOf}, up to {@code limit} live files that expired at or before it,
   * never the input file of a batch that has not ended; returns how many it marked.
   */
  int expireFiles(long asOf, int limit);

  /** Deleted files whose bytes may still be in the store. */
  List<StoredObject> unpurgedFiles(int limit);

  void markFilePurged(String fileId, long at);

  /** Batches that ended at or before {@code endedBefore} and still have their work folder. */
  List<StoredObject> unpurgedBatchWork(long endedBefore, int limit);

  void markBatchWorkPurged(String batchId, long at);

  /**
   * Deletes up to {@code limit} records of batches that ended at or before {@code endedBefore} and
   * whose work folder is gone; returns how many it deleted.
   */
  int deleteEndedBatches(long endedBefore, int limit);

  /** A file or batch and its tenant. */
  record StoredObject(String tenant, String id, String storageKey) {}
}
