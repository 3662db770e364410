package dev.batchgateway.workflows.cleanup;

/**
 * What one cleanup pass may do.
 *
 * @param pageSize rows handled by one activity call
 * @param maxPagesPerStep pages each step may take in one pass, which bounds the pass's history
 * @param batchRetentionSeconds how long a finished batch's record stays after it ended
 * @param workGraceSeconds how long after a batch ended its work folder is kept
 */
public record CleanupRequest(
    int pageSize, int maxPagesPerStep, long batchRetentionSeconds, long workGraceSeconds) {}
