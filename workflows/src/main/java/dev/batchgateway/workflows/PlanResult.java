package dev.batchgateway.workflows;

/**
 * Outcome of planning. The plan itself (chunk files and their index) lives in the file store; only
 * this summary enters workflow history.
 *
 * @param valid false when at least one line broke a rule; the errors are already stored
 * @param model the model of the first line, shown on the Batch object
 */
public record PlanResult(boolean valid, long totalLines, int chunkCount, String model) {}
