package dev.batchgateway.service.tracing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.auth.ApiKeyFilter;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import org.glassfish.jersey.server.ExtendedUriInfo;
import org.glassfish.jersey.uri.UriTemplate;

/**
 * Completes the request's span once the resource answered: names it after the matched route ({@code
 * POST /v1/batches}, {@code GET /v1/batches/{id}}) and records the tenant and the batch or file the
 * request was about, a created one included. Installed only with tracing on.
 */
public final class TracingRouteFilter implements ContainerResponseFilter {
  static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
  static final AttributeKey<String> TENANT = AttributeKey.stringKey("batch_gateway.tenant");
  static final AttributeKey<String> BATCH_ID = AttributeKey.stringKey("batch_gateway.batch_id");
  static final AttributeKey<String> FILE_ID = AttributeKey.stringKey("batch_gateway.file_id");

  @Override
  public void filter(ContainerRequestContext request, ContainerResponseContext response) {
    Span span = Span.current();
    if (!span.isRecording()) {
      return;
    }
    String route = route(request.getUriInfo());
    if (route != null) {
      span.updateName(request.getMethod() + " " + route);
      span.setAttribute(ROUTE, route);
    }
    String tenant = ApiKeyFilter.tenant(request);
    if (tenant != null) {
      span.setAttribute(TENANT, tenant);
    }
    String id = request.getUriInfo().getPathParameters().getFirst("id");
    if (id == null && response.getEntity() instanceof JsonNode body && body.has("id")) {
      id = body.path("id").asText();
    }
    if (id != null && route != null) {
      if (route.startsWith("/v1/batches")) {
        span.setAttribute(BATCH_ID, id);
      } else if (route.startsWith("/v1/files")) {
        span.setAttribute(FILE_ID, id);
      }
    }
  }

  /** The matched resource's path template, or null when no resource matched. */
  private static String route(UriInfo info) {
    if (!(info instanceof ExtendedUriInfo extended)) {
      return null;
    }
    List<UriTemplate> templates = extended.getMatchedTemplates();
    if (templates.isEmpty()) {
      return null;
    }
    StringBuilder route = new StringBuilder();
    for (int i = templates.size() - 1; i >= 0; i--) {
      String part = templates.get(i).getTemplate();
      if (part.isEmpty() || part.equals("/")) {
        continue;
      }
      if (!part.startsWith("/") && (route.isEmpty() || route.charAt(route.length() - 1) != '/')) {
        route.append('/');
      }
      route.append(part);
    }
    return route.isEmpty() ? "/" : route.toString();
  }
}
