package dev.batchgateway.service.auth;

import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.service.errors.ApiException;
import dev.batchgateway.service.errors.ErrorResponses;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;

/**
 * Every API call names its tenant through {@code Authorization: Bearer <key>}, or, behind an
 * authenticating proxy, through the header that proxy sets ({@link TrustedHeaderFilter}).
 */
@Priority(Priorities.AUTHENTICATION)
public final class ApiKeyFilter implements ContainerRequestFilter {
  private static final String TENANT_PROPERTY = "batchgateway.tenant";

  /** Set by {@link TrustedHeaderFilter}: the tenant a trusted proxy named. */
  static final String PROXY_TENANT_PROPERTY = "batchgateway.proxy-tenant";

  private final TenantLookup keys;

  public ApiKeyFilter(TenantLookup keys) {
    this.keys = keys;
  }

  @Override
  public void filter(ContainerRequestContext request) {
    if (isUnauthenticated(request)) {
      return;
    }
    if (request.getProperty(PROXY_TENANT_PROPERTY) instanceof String proxied) {
      if (ApiKeys.isValidTenant(proxied)) {
        setTenant(request, proxied);
      } else {
        request.abortWith(
            ErrorResponses.of(
                ApiException.unauthorized("The authenticating proxy named no valid tenant.")));
      }
      return;
    }
    String header = request.getHeaderString("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      request.abortWith(
          ErrorResponses.of(
              ApiException.unauthorized(
                  "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.")));
      return;
    }
    String key = header.substring(7).trim();
    keys.tenantFor(key)
        .ifPresentOrElse(
            tenant -> setTenant(request, tenant),
            () ->
                request.abortWith(
                    ErrorResponses.of(
                        ApiException.unauthorized(
                            "Incorrect API key provided: " + redact(key) + "."))));
  }

  /**
   * Records the tenant for the resource and for the request's log lines (RequestIdFilter clears
   * it).
   */
  private static void setTenant(ContainerRequestContext request, String tenant) {
    request.setProperty(TENANT_PROPERTY, tenant);
    LogContext.put(LogContext.TENANT, tenant);
  }

  /** Whether the matched resource is one marked {@link Unauthenticated}. */
  private static boolean isUnauthenticated(ContainerRequestContext request) {
    var matched = request.getUriInfo() == null ? null : request.getUriInfo().getMatchedResources();
    return matched != null
        && !matched.isEmpty()
        && matched.get(0).getClass().isAnnotationPresent(Unauthenticated.class);
  }

  /** The tenant the filter established for this request. */
  public static String tenant(ContainerRequestContext request) {
    return (String) request.getProperty(TENANT_PROPERTY);
  }

  private static String redact(String key) {
    return key.length() <= 8
        ? "***"
        : key.substring(0, 3) + "***" + key.substring(key.length() - 4);
  }
}
