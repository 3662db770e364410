package dev.batchgateway.workflows;

/** What the {@code progress} query answers: where the workflow is, without touching storage. */
public record BatchProgress(
    BatchStatus status,
    int priority,
    int chunksTotal,
    int chunksDone,
    int chunksRunning,
    int chunksFailed,
    String stopReason) {}
