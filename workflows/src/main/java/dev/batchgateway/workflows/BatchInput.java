package dev.batchgateway.workflows;

/**
 * What a batch workflow is started with. Everything a worker needs is here or in the metadata
 * store, so the workflow never reads configuration.
 *
 * @param parallelChunks how many chunk activities of this batch may run at once
 * @param expiresAtEpochSeconds the end of the completion window
 * @param sortByPrefix whether the plan orders lines by shared prompt prefix
 */
public record BatchInput(
    String batchId,
    String tenant,
    String endpoint,
    String inputFileId,
    long expiresAtEpochSeconds,
    int priority,
    int parallelChunks,
    boolean sortByPrefix) {}
