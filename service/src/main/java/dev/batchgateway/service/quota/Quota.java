package dev.batchgateway.service.quota;

/** The tenant quotas a request can be refused for, by their metric label. */
public enum Quota {
  ACTIVE_BATCHES("active_batches"),
  QUEUED_REQUESTS("queued_requests"),
  REQUESTS_PER_SECOND("requests_per_second");

  private final String label;

  Quota(String label) {
    this.label = label;
  }

  /** The value of the {@code quota} label of {@code batch_gateway_quota_refusals_total}. */
  public String label() {
    return label;
  }
}
