package dev.batchgateway.workflows;

/** Input of the plan activity: validate the input file and cut it into chunk files. */
public record PlanRequest(
    String batchId, String tenant, String endpoint, String inputFileId, boolean sortByPrefix) {}
