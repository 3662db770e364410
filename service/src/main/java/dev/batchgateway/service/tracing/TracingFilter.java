package dev.batchgateway.service.tracing;

import dev.batchgateway.service.http.RequestIds;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Collections;
import org.slf4j.MDC;

/**
 * A server span around each API request, current while the request runs, so the Temporal calls it
 * makes join its trace. A caller's {@code traceparent} is continued. The span is named after the
 * method until {@link TracingRouteFilter} names the matched route. Installed only with tracing on,
 * after {@link dev.batchgateway.service.http.RequestIdFilter}, whose id it records.
 */
public final class TracingFilter implements Filter {
  static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
  static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("batch_gateway.request_id");

  private static final TextMapGetter<HttpServletRequest> HEADERS =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(HttpServletRequest carrier) {
          return Collections.list(carrier.getHeaderNames());
        }

        @Override
        public String get(HttpServletRequest carrier, String key) {
          return carrier == null ? null : carrier.getHeader(key);
        }
      };

  private final Tracer tracer;
  private final TextMapPropagator propagator;

  public TracingFilter(Tracer tracer, TextMapPropagator propagator) {
    this.tracer = tracer;
    this.propagator = propagator;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest http = (HttpServletRequest) request;
    Context parent = propagator.extract(Context.root(), http, HEADERS);
    Span span =
        tracer
            .spanBuilder(http.getMethod())
            .setParent(parent)
            .setSpanKind(SpanKind.SERVER)
            .setAttribute(METHOD, http.getMethod())
            .setAttribute(PATH, http.getRequestURI())
            .startSpan();
    String requestId = MDC.get(RequestIds.MDC_KEY);
    if (requestId != null) {
      span.setAttribute(REQUEST_ID, requestId);
    }
    try (Scope ignored = span.makeCurrent()) {
      chain.doFilter(request, response);
    } catch (IOException | ServletException | RuntimeException e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR);
      throw e;
    } finally {
      int status = ((HttpServletResponse) response).getStatus();
      span.setAttribute(STATUS, (long) status);
      if (status >= 500) {
        span.setStatus(StatusCode.ERROR);
      }
      span.end();
    }
  }
}
