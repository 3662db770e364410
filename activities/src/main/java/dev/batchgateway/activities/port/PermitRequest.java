package dev.batchgateway.activities.port;

/**
 * What a request asks the limiter with: enough for it to decide who goes first when permits are
 * short.
 *
 * @param pool the inference pool the request goes to
 * @param tenant the batch's tenant
 * @param batchId the batch the request belongs to
 * @param priority the batch's priority now (a reprioritize shows here within seconds), higher first
 * @param deadlineEpochSeconds when the batch's completion window ends
 * @param pace how far the batch has got, to tell whether its deadline is at risk
 */
public record PermitRequest(
    String pool,
    String tenant,
    String batchId,
    int priority,
    long deadlineEpochSeconds,
    BatchPace pace) {

  public PermitRequest {
    pace = pace == null ? BatchPace.UNKNOWN : pace;
  }

  /** A request whose batch's pace is not known. */
  public PermitRequest(
      String pool, String tenant, String batchId, int priority, long deadlineEpochSeconds) {
    this(pool, tenant, batchId, priority, deadlineEpochSeconds, BatchPace.UNKNOWN);
  }
}
