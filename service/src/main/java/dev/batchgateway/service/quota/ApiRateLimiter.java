package dev.batchgateway.service.quota;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * API calls per second per tenant, one {@link TokenBucket} each, counted in this process only: with
 * several API processes behind a load balancer a tenant gets up to their number times the figure. A
 * tenant's bucket is made at its first call (tenants are authenticated, so there are as many as
 * keys name) and keeps its settings for the life of the process.
 */
public final class ApiRateLimiter {
  private final QuotaSettings settings;
  private final LongSupplier nanoClock;
  private final ConcurrentMap<String, TokenBucket> buckets = new ConcurrentHashMap<>();

  public ApiRateLimiter(QuotaSettings settings, LongSupplier nanoClock) {
    this.settings = settings;
    this.nanoClock = nanoClock;
  }

  /**
   * Counts one call of the tenant.
   *
   * @return 0 when it may go ahead; otherwise the nanoseconds until it could
   */
  public long tryAcquire(String tenant) {
    TokenBucket bucket = buckets.get(tenant);
    if (bucket == null) {
      QuotaSettings.Limits limits = settings.limitsFor(tenant);
      if (!limits.limitsRate()) {
        return 0;
      }
      bucket =
          buckets.computeIfAbsent(
              tenant, t -> new TokenBucket(limits.requestsPerSecond(), limits.burst(), nanoClock));
    }
    return bucket.tryTake();
  }

  /** The tenant's limits, for the refusal's message. */
  public QuotaSettings.Limits limitsFor(String tenant) {
    return settings.limitsFor(tenant);
  }
}
