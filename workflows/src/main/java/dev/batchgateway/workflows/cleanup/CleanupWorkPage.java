package dev.batchgateway.workflows.cleanup;

/**
 * One page of a step over finished batches.
 *
 * @param endedBeforeEpochSeconds only batches that ended at or before this time
 * @param limit rows to handle at most
 */
public record CleanupWorkPage(long endedBeforeEpochSeconds, int limit) {}
