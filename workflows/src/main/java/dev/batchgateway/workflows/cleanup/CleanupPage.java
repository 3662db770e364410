package dev.batchgateway.workflows.cleanup;

/**
 * One page of a cleanup step.
 *
 * @param asOfEpochSeconds the pass's notion of now, fixed when it started
 * @param limit rows to handle at most
 */
public record CleanupPage(long asOfEpochSeconds, int limit) {}
