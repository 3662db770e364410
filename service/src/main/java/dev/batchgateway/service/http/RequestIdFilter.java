package dev.batchgateway.service.http;

import dev.batchgateway.activities.logging.LogContext;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.slf4j.MDC;

/**
 * Gives every API request an id ({@link RequestIds}), echoes it in the {@code x-request-id}
 * response header and puts it in the logging context for the request's log lines, which it clears
 * when the request ends.
 */
public final class RequestIdFilter implements Filter {

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    String id = RequestIds.accept(((HttpServletRequest) request).getHeader(RequestIds.HEADER));
    ((HttpServletResponse) response).setHeader(RequestIds.HEADER, id);
    MDC.put(RequestIds.MDC_KEY, id);
    try {
      chain.doFilter(request, response);
    } finally {
      // The tenant and the batch were added on the way (ApiKeyFilter, BatchesResource); Jetty's
      // threads are pooled, so nothing of this request may stay behind for the next one.
      MDC.remove(RequestIds.MDC_KEY);
      MDC.remove(LogContext.TENANT);
      MDC.remove(LogContext.BATCH_ID);
    }
  }
}
