package dev.batchgateway.workflows;

/** A status write requested by the workflow; the activity applies it compare-and-set. */
public record StatusChange(String batchId, String tenant, BatchStatus status) {}
