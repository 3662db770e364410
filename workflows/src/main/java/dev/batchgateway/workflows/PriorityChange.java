package dev.batchgateway.workflows;

/** A priority the workflow accepted, to be shown on the Batch object. */
public record PriorityChange(String batchId, String tenant, int priority) {}
