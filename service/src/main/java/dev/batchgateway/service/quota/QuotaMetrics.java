package dev.batchgateway.service.quota;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.metrics.MetricNames;
import java.util.EnumMap;
import java.util.Map;

/**
 * {@code batch_gateway_quota_refusals_total{quota=...}}: requests answered 429 for a tenant quota.
 * Every label is registered up front, so each series is there (at 0) before its first refusal.
 */
public final class QuotaMetrics {
  static final String REFUSALS = "batch_gateway_quota_refusals_total";

  private final Map<Quota, Counter> refusals = new EnumMap<>(Quota.class);

  public QuotaMetrics(MetricRegistry registry) {
    for (Quota quota : Quota.values()) {
      refusals.put(quota, registry.counter(MetricNames.labeled(REFUSALS, "quota", quota.label())));
    }
  }

  public void refused(Quota quota) {
    refusals.get(quota).inc();
  }
}
