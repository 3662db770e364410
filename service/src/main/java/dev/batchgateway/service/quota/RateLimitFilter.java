package dev.batchgateway.service.quota;

import dev.batchgateway.service.auth.ApiKeyFilter;
import dev.batchgateway.service.errors.ApiException;
import dev.batchgateway.service.errors.ErrorResponses;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.Response;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts every authenticated API call against its tenant's rate ({@link ApiRateLimiter}); one over
 * it is answered 429 with {@code Retry-After}, before its body is read. Runs after {@link
 * ApiKeyFilter} has named the tenant; unauthenticated routes (the OpenAPI document) are not
 * counted.
 */
@Priority(Priorities.AUTHORIZATION)
public final class RateLimitFilter implements ContainerRequestFilter {
  private static final Logger log = LoggerFactory.getLogger(RateLimitFilter.class);
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  /** A throttled tenant is logged at most this often, however many calls are refused. */
  private static final long LOG_EVERY_NANOS = 10 * NANOS_PER_SECOND;

  private final ConcurrentMap<String, Long> loggedAt = new ConcurrentHashMap<>();

  private final ApiRateLimiter limiter;
  private final QuotaMetrics metrics;

  public RateLimitFilter(ApiRateLimiter limiter, QuotaMetrics metrics) {
    this.limiter = limiter;
    this.metrics = metrics;
  }

  @Override
  public void filter(ContainerRequestContext request) {
    String tenant = ApiKeyFilter.tenant(request);
    if (tenant == null) {
      return;
    }
    long waitNanos = limiter.tryAcquire(tenant);
    if (waitNanos == 0) {
      return;
    }
    metrics.refused(Quota.REQUESTS_PER_SECOND);
    long retryAfter = retryAfterSeconds(waitNanos);
    QuotaSettings.Limits limits = limiter.limitsFor(tenant);
    long now = System.nanoTime();
    Long last = loggedAt.get(tenant);
    if (last == null || now - last > LOG_EVERY_NANOS) {
      loggedAt.put(tenant, now);
      log.info(
          "Tenant {} is over its API rate limit ({} per second, burst {}); refusing its calls"
              + " with 429 (logged at most every 10 s)",
          tenant,
          formatRate(limits.requestsPerSecond()),
          limits.burst());
    }
    ApiException refusal =
        new ApiException(
            429,
            "rate_limit_error",
            String.format(
                Locale.ROOT,
                "Tenant '%s' is over its API rate limit (requestsPerSecond %s, burst %,d)."
                    + " Retry after %d second%s.",
                tenant,
                formatRate(limits.requestsPerSecond()),
                limits.burst(),
                retryAfter,
                retryAfter == 1 ? "" : "s"),
            null,
            "rate_limit_exceeded",
            true);
    request.abortWith(
        Response.fromResponse(ErrorResponses.of(refusal))
            .header("Retry-After", Long.toString(retryAfter))
            .build());
  }

  /** Whole seconds, rounded up and at least 1, as {@code Retry-After} takes them. */
  static long retryAfterSeconds(long waitNanos) {
    return Math.max(1, (waitNanos + NANOS_PER_SECOND - 1) / NANOS_PER_SECOND);
  }

  static String formatRate(double perSecond) {
    return perSecond == Math.rint(perSecond)
        ? String.format(Locale.ROOT, "%,d", (long) perSecond)
        : String.format(Locale.ROOT, "%s", perSecond);
  }
}
