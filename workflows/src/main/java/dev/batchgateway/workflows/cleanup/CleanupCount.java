package dev.batchgateway.workflows.cleanup;

/**
 * What one page did.
 *
 * @param handled rows this page changed
 * @param more whether rows of this step may still be waiting
 */
public record CleanupCount(int handled, boolean more) {}
