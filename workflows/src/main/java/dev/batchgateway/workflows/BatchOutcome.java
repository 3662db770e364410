package dev.batchgateway.workflows;

/** The result of a batch workflow: its terminal status and final request counts. */
public record BatchOutcome(BatchStatus status, RequestCounts counts) {}
