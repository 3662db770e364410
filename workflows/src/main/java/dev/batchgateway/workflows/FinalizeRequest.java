package dev.batchgateway.workflows;

import java.util.List;

/**
 * Input of the finalize activity.
 *
 * @param status the terminal status to record: completed, cancelled or expired
 * @param failedChunks chunks whose activity gave up; their unanswered lines become errors
 */
public record FinalizeRequest(
    String batchId,
    String tenant,
    int chunkCount,
    long totalLines,
    BatchStatus status,
    List<Integer> failedChunks) {}
