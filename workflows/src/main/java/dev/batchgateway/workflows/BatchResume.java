package dev.batchgateway.workflows;

import java.util.List;

/**
 * Where a running batch left off when it continued as new to keep its history short: its plan, the
 * chunks still to run, and what the finished ones did. The new run skips planning and runs {@code
 * pendingChunks}; a chunk cancelled for the move resumes from its checkpoints.
 *
 * @param appliedPriority the priority last recorded in the batch row
 */
public record BatchResume(
    long totalLines,
    int chunkCount,
    String model,
    List<Integer> pendingChunks,
    List<Integer> failedChunks,
    int chunksDone,
    long requestsDone,
    int appliedPriority) {

  public BatchResume {
    pendingChunks = pendingChunks == null ? List.of() : List.copyOf(pendingChunks);
    failedChunks = failedChunks == null ? List.of() : List.copyOf(failedChunks);
  }
}
