package dev.batchgateway.service.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard and the alert rules under deploy/monitoring ask only for metrics that
 * docs/metrics.md documents (and MetricsIT holds the exposition to that document), with labels it
 * documents for them.
 */
class MonitoringFilesTest {
  private static final Path MONITORING = Path.of("..", "deploy", "monitoring");

  /** PromQL words that are not metric names. */
  private static final Set<String> PROMQL =
      Set.of(
          "sum",
          "min",
          "max",
          "avg",
          "count",
          "rate",
          "irate",
          "increase",
          "delta",
          "histogram_quantile",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "and",
          "or",
          "unless",
          "clamp_min",
          "clamp_max",
          "abs",
          "absent",
          "topk",
          "bottomk",
          "time",
          "vector",
          "scalar",
          "label_replace",
          "offset",
          "bool",
          "avg_over_time",
          "max_over_time",
          "min_over_time",
          "quantile_over_time",
          "changes",
          "resets",
          "Inf",
          "NaN");

  private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\(([^)]*)\\)");
  private static final Pattern SELECTOR =
      Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*\\{([^}]*)}");
  private static final Pattern MATCHER_LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)");
  private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

  private final Map<String, MetricsReference.Entry> documented = MetricsReference.read();

  @Test
  void theDocumentListsValidPrometheusNames() {
    assertThat(documented).isNotEmpty();
    for (MetricsReference.Entry entry : documented.values()) {
      assertThat(entry.name()).matches("[a-z_][a-z0-9_]*");
      assertThat(entry.type()).isIn("counter", "gauge", "histogram", "summary");
      if (entry.type().equals("counter")) {
        assertThat(entry.name()).as("a counter's name").endsWith("_total");
      }
    }
  }

  @Test
  void everyDashboardQueryUsesDocumentedMetricsAndLabels() throws IOException {
    JsonNode dashboard =
        new ObjectMapper().readTree(MONITORING.resolve("grafana-dashboard.json").toFile());
    List<String> expressions = new ArrayList<>();
    dashboard.findValues("expr").forEach(expr -> expressions.add(expr.asText()));
    assertThat(expressions).hasSizeGreaterThan(20);
    expressions.forEach(this::assertDocumented);
  }

  @Test
  void everyAlertUsesDocumentedMetricsAndLabels() throws IOException {
    JsonNode rules =
        new ObjectMapper(new YAMLFactory())
            .readTree(MONITORING.resolve("prometheus-rules.yaml").toFile());
    assertThat(rules.path("kind").asText()).isEqualTo("PrometheusRule");
    assertThat(rules.path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
    Set<String> groups = new TreeSet<>();
    List<String> expressions = new ArrayList<>();
    for (JsonNode group : rules.path("spec").path("groups")) {
      groups.add(group.path("name").asText());
      for (JsonNode rule : group.path("rules")) {
        assertThat(rule.path("alert").asText()).as("alert name").isNotBlank();
        assertThat(rule.path("labels").path("severity").asText()).isNotBlank();
        expressions.add(rule.path("expr").asText());
      }
    }
    assertThat(groups)
        .containsExactlyInAnyOrder(
            "batch-gateway.queue-wait",
            "batch-gateway.failures",
            "batch-gateway.deadline-risk",
            "batch-gateway.saturation",
            "batch-gateway.stuck");
    expressions.forEach(this::assertDocumented);
  }

  @Test
  void theCheckFindsAnUndocumentedMetric() {
    assertThat(metricsIn("sum by (pool) (rate(batch_gateway_made_up_total{pool=\"a\"}[5m]))"))
        .containsExactly("batch_gateway_made_up_total");
    assertThat(documented).doesNotContainKey("batch_gateway_made_up_total");
  }

  private void assertDocumented(String expression) {
    Set<String> metrics = metricsIn(expression);
    assertThat(metrics).as("metrics in " + expression).isNotEmpty();
    for (String metric : metrics) {
      MetricsReference.Entry entry = familyOf(metric);
      assertThat(entry).as(metric + " (in " + expression + ") is in docs/metrics.md").isNotNull();
    }
    Matcher selector = SELECTOR.matcher(STRING.matcher(expression).replaceAll("\"\""));
    while (selector.find()) {
      MetricsReference.Entry entry = familyOf(selector.group(1));
      Matcher label = MATCHER_LABEL.matcher(selector.group(2));
      while (label.find()) {
        String name = label.group(1);
        if (!name.equals("le") && !name.equals("quantile")) {
          assertThat(entry.labels()).as("labels of " + selector.group(1)).contains(name);
        }
      }
    }
  }

  /** The documented family a series name belongs to, or null. */
  private MetricsReference.Entry familyOf(String series) {
    if (documented.containsKey(series)) {
      return documented.get(series);
    }
    for (String suffix : new String[] {"_bucket", "_sum", "_count"}) {
      if (series.endsWith(suffix)) {
        MetricsReference.Entry entry =
            documented.get(series.substring(0, series.length() - suffix.length()));
        if (entry != null
            && (entry.type().equals("histogram")
                || (entry.type().equals("summary") && !suffix.equals("_bucket")))) {
          return entry;
        }
      }
    }
    return null;
  }

  /** The metric names a PromQL expression selects. */
  static Set<String> metricsIn(String expression) {
    String text = STRING.matcher(expression).replaceAll("\"\"");
    text = text.replaceAll("\\{[^}]*}", " ");
    text = text.replaceAll("\\[[^]]*]", " ");
    text = GROUPING.matcher(text).replaceAll(" ");
    text = text.replaceAll("\\$[a-zA-Z_]+", " ");
    Set<String> metrics = new TreeSet<>();
    Matcher identifier = IDENTIFIER.matcher(text);
    while (identifier.find()) {
      String word = identifier.group();
      int before = identifier.start() - 1;
      boolean partOfNumber =
          before >= 0 && (Character.isDigit(text.charAt(before)) || text.charAt(before) == '.');
      if (!PROMQL.contains(word) && !partOfNumber) {
        metrics.add(word);
      }
    }
    return metrics;
  }
}
