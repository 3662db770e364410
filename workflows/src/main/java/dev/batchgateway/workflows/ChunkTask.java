package dev.batchgateway.workflows;

/** One chunk of a planned batch, as handed to a chunk activity. */
public record ChunkTask(
    String batchId,
    String tenant,
    String endpoint,
    int chunkIndex,
    int priority,
    long deadlineEpochSeconds) {}
