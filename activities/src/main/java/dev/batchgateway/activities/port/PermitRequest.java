package dev.batchgateway.activities.port;

/**
 * What a request asks the limiter with: enough for it to decide who goes first when permits are
 * short.
 *
 * @param pool the inference pool the request goes to
 * @param tenant the batch's tenant
 * @param batchId the batch the request belongs to
 * @param priority the batch's priority, higher first
 * @param deadlineEpochSeconds when the batch's completion window ends
 */
public record PermitRequest(
    String pool, String tenant, String batchId, int priority, long deadlineEpochSeconds) {}
