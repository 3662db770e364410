package dev.batchgateway.service.metrics;

import com.codahale.metrics.MetricRegistry;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The admin port's {@code /metrics}: the registry as Prometheus text (format 0.0.4). */
public final class PrometheusServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;

  private final transient MetricRegistry registry;

  public PrometheusServlet(MetricRegistry registry) {
    this.registry = registry;
  }

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    byte[] body = PrometheusExposition.write(registry).getBytes(StandardCharsets.UTF_8);
    response.setStatus(HttpServletResponse.SC_OK);
    response.setContentType(PrometheusExposition.CONTENT_TYPE);
    response.setHeader("Cache-Control", "must-revalidate,no-cache,no-store");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }
}
