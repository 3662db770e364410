package dev.batchgateway.workflows.cleanup;

/**
 * What a pass did, shown as the workflow's result in the Temporal UI.
 *
 * @param filesExpired files that expired and left the API
 * @param filesPurged deleted files whose bytes were removed from the store
 * @param batchWorkPurged finished batches whose work folder was removed
 * @param batchesDeleted batch records removed after their retention
 * @param finished false when a step used its page budget and left work for the next pass
 */
public record CleanupReport(
    long filesExpired,
    long filesPurged,
    long batchWorkPurged,
    long batchesDeleted,
    boolean finished) {}
