package dev.batchgateway.activities.port;

import dev.batchgateway.activities.model.BatchControl;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.ChunkProgress;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.FinalizeResult;
import dev.batchgateway.workflows.RequestCounts;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What the activities read and write about files and batches. Every call is tenant-scoped. */
public interface MetadataStore {

  Optional<FileRecord> findFile(String tenant, String fileId);

  /** The batch's current status, or empty if the batch does not exist. */
  Optional<BatchStatus> batchStatus(String tenant, String batchId);

  /**
   * The batch's OpenAI {@code metadata} (up to 16 string pairs), empty when it has none or the
   * batch does not exist. Workers read it for per-batch request settings; a store that keeps no
   * metadata answers empty.
   */
  default Map<String, String> batchMetadata(String tenant, String batchId) {
    return Map.of();
  }

  /**
   * The batch's status, recorded priority and pace in one read, or empty if the batch does not
   * exist. Running chunks call it every second.
   */
  Optional<BatchControl> batchControl(String tenant, String batchId);

  /**
   * Moves a batch to {@code next} if its current status allows it, and stamps the matching
   * timestamp. Returns false (and changes nothing) when the move would go backwards.
   */
  boolean transitionStatus(String tenant, String batchId, BatchStatus next, long atEpochSeconds);

  /** Stores what planning learned: total line count and the model shown on the Batch. */
  void recordPlan(String tenant, String batchId, long totalLines, String model);

  /** Replaces the batch's validation errors. */
  void recordErrors(String tenant, String batchId, List<BatchError> errors);

  void recordPriority(String tenant, String batchId, int priority);

  /** Upserts (never adds to) one chunk's progress, so a retried checkpoint counts once. */
  void recordChunkProgress(String tenant, String batchId, int chunkIndex, ChunkProgress progress);

  /**
   * What the batch ended with (counts and result file ids), or empty while it is not terminal or
   * does not exist.
   */
  Optional<FinalizeResult> finalResult(String tenant, String batchId);

  /**
   * Registers the result files (either may be null), stores final counts and usage and moves the
   * batch to its terminal status, all at once. Safe to repeat.
   */
  void completeBatch(
      String tenant,
      String batchId,
      BatchStatus terminal,
      RequestCounts counts,
      Usage usage,
      FileRecord outputFile,
      FileRecord errorFile,
      long atEpochSeconds);
}
