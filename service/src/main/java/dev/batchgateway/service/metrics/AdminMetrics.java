package dev.batchgateway.service.metrics;

import io.dropwizard.core.setup.Environment;
import io.dropwizard.metrics.servlets.MetricsServlet;

/**
 * The admin port's metrics endpoints: {@code /metrics} answers Prometheus text (format 0.0.4, what
 * Prometheus and a ServiceMonitor scrape by default) and {@code /metrics.json} Dropwizard's JSON of
 * the same registry, every built-in metric included. Dropwizard's admin servlet is mapped to {@code
 * /*}; an exact mapping wins over it, so its own {@code /metrics} is no longer reached.
 */
public final class AdminMetrics {
  public static final String PROMETHEUS_PATH = "/metrics";
  public static final String JSON_PATH = "/metrics.json";

  private AdminMetrics() {}

  public static void register(Environment environment) {
    environment
        .admin()
        .addServlet("prometheus-metrics", new PrometheusServlet(environment.metrics()))
        .addMapping(PROMETHEUS_PATH);
    environment
        .admin()
        .addServlet("dropwizard-metrics-json", new MetricsServlet(environment.metrics()))
        .addMapping(JSON_PATH);
  }
}
