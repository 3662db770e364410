package dev.batchgateway.service.port;

import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.service.model.BatchRecord;
import dev.batchgateway.service.quota.BatchQuotas;
import java.util.List;
import java.util.Optional;

/**
 * What the API reads and writes about files and batches. Every call is tenant-scoped; the worker's
 * side is {@link dev.batchgateway.activities.port.MetadataStore}.
 */
public interface ApiMetadataStore {

  /** What a tenant stores: its live files (neither deleted nor expired) and their bytes. */
  record StorageUsage(long files, long bytes) {}

  void insertFile(FileRecord file);

  /** Inserts an uploaded file with the number of requests (non-blank lines) it holds. */
  void insertUpload(FileRecord file, long requestLines);

  StorageUsage storageUsage(String tenant, long now);

  /**
   * Inserts an uploaded file unless the tenant would then store more files or bytes than its limits
   * (0: none). Answers the usage that stopped it, or empty once the file is in. Two uploads of one
   * tenant at once cannot both take the last room left.
   */
  Optional<StorageUsage> insertFileWithinQuota(
      FileRecord file, long requestLines, long maxFiles, long maxBytes, long now);

  /** A file as the API shows it: neither deleted nor expired at {@code now}. */
  Optional<FileRecord> findLiveFile(String tenant, String fileId, long now);

  /**
   * One page of a tenant's live files; an expired file leaves the list as soon as it expires.
   *
   * @param afterId cursor: the page starts after this file (which may since have been deleted)
   * @return up to {@code limit + 1} files, so the caller can tell whether more follow; empty when
   *     the cursor names no file of this tenant
   */
  Optional<List<FileRecord>> listFiles(
      String tenant, String purpose, String afterId, boolean ascending, int limit, long now);

  /** Marks a file deleted; returns false when there was no such live file. */
  boolean deleteFile(String tenant, String fileId, long at);

  /**
   * Inserts the batch, marked as not started, if its input file is still there; cleanup cannot
   * delete the file under the new batch meanwhile.
   *
   * @return false, with nothing inserted, when the input file was deleted meanwhile
   */
  boolean insertBatch(BatchRecord batch);

  /** What {@link #insertBatchWithinQuota} did. */
  enum BatchInsertOutcome {
    INSERTED,
    /** The input file was deleted meanwhile; nothing was inserted. */
    NO_INPUT_FILE,
    /** The batch would pass a quota; nothing was inserted. */
    OVER_QUOTA
  }

  /**
   * What an insert did, with what the tenant had going before it and the requests the new batch
   * brings (its input file's, 0 for a file uploaded before they were counted).
   */
  record BatchInsert(BatchInsertOutcome outcome, BatchQuotas.Load load, long newRequests) {}

  /**
   * As {@link #insertBatch}, unless the tenant would then have more unfinished batches, or more
   * requests in them, than the limits (0: none; see {@link BatchQuotas#passed}). The creates of one
   * tenant check and insert in turn, so two at once cannot both take the last room left.
   */
  BatchInsert insertBatchWithinQuota(BatchRecord batch, long maxActiveBatches, long maxQueued);

  /** Records that the batch's workflow started. */
  void markWorkflowStarted(String tenant, String batchId);

  /** Removes a batch whose workflow could not be started, so no orphan record stays behind. */
  void deleteBatch(String tenant, String batchId);

  Optional<BatchRecord> findBatch(String tenant, String batchId);

  /**
   * Newest first, up to {@code limit + 1} batches; empty when the cursor names no batch of this
   * tenant.
   */
  Optional<List<BatchRecord>> listBatches(String tenant, String afterId, int limit);
}
