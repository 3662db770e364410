package dev.batchgateway.workflows;

import java.util.List;

/**
 * Input of the finalize activity.
 *
 * @param status the terminal status to record: completed, failed, cancelled or expired
 * @param failedChunks chunks whose activity gave up; their unanswered lines become errors
 * @param problems recorded as the batch's {@code errors} when not empty
 * @param salvage a finalize that failed for good is run again this way: unreadable checkpoint
 *     segments are skipped and their lines reported as {@code result_lost} errors
 */
public record FinalizeRequest(
    String batchId,
    String tenant,
    int chunkCount,
    long totalLines,
    BatchStatus status,
    List<Integer> failedChunks,
    List<BatchProblem> problems,
    boolean salvage) {

  public FinalizeRequest {
    failedChunks = failedChunks == null ? List.of() : List.copyOf(failedChunks);
    problems = problems == null ? List.of() : List.copyOf(problems);
  }

  public FinalizeRequest(
      String batchId,
      String tenant,
      int chunkCount,
      long totalLines,
      BatchStatus status,
      List<Integer> failedChunks) {
    this(batchId, tenant, chunkCount, totalLines, status, failedChunks, List.of(), false);
  }

  /** The same batch finalized again in salvage mode, ending as {@code status} with {@code why}. */
  public FinalizeRequest salvaged(BatchStatus endAs, List<BatchProblem> why) {
    return new FinalizeRequest(
        batchId, tenant, chunkCount, totalLines, endAs, failedChunks, why, true);
  }
}
