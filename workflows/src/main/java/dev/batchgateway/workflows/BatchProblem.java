package dev.batchgateway.workflows;

/**
 * Why a batch did not end as asked, as the workflow tells it; recorded in the batch's {@code
 * errors}.
 */
public record BatchProblem(String code, String message) {}
