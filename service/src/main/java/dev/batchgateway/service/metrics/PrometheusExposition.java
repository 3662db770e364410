package dev.batchgateway.service.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Meter;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Sampling;
import com.codahale.metrics.Snapshot;
import com.codahale.metrics.Timer;
import dev.batchgateway.activities.metrics.BucketHistogram;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes the Dropwizard registry as Prometheus text exposition, format 0.0.4.
 *
 * <p>The gateway's own metrics ({@code batch_gateway_*}) and the Temporal SDK's ({@code
 * temporal_*}) are named {@code family[label=value,...]} in the registry (see {@link
 * dev.batchgateway.activities.metrics.MetricNames}); the family is the Prometheus name and the part
 * in brackets its labels. Counters and meters become counters ending in {@code _total}, gauges
 * gauges, {@link BucketHistogram}s histograms, Dropwizard timers summaries in seconds ({@code
 * _seconds}) and Dropwizard histograms summaries; a summary carries the quantiles 0.5, 0.9 and 0.99
 * of the last few minutes and {@code _count}, but no {@code _sum} (Dropwizard keeps none).
 *
 * <p>Of Dropwizard's own metrics, a few are translated to conventional names ({@link #BUILT_IN});
 * the rest (thread pools, logback, buffer pools...) stay on {@code /metrics.json} only.
 */
public final class PrometheusExposition {
  /** The content type of format 0.0.4. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final double[] QUANTILES = {0.5, 0.9, 0.99};
  private static final Pattern VALID_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern VALID_LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  /** A Dropwizard built-in metric, by name pattern, and what it becomes. */
  private record Rule(
      Pattern pattern, String family, String labelName, double scale, boolean upAndDown) {
    Rule(String pattern, String family) {
      this(Pattern.compile(pattern), family, null, 1, false);
    }

    Rule(String pattern, String family, String labelName, double scale) {
      this(Pattern.compile(pattern), family, labelName, scale, false);
    }
  }

  /**
   * Dropwizard's built-in metrics that are exposed, with their Prometheus names. A rule with a
   * label name takes the label's value from the pattern's first group; {@code $1} in a family is
   * replaced by it otherwise.
   */
  static final List<Rule> BUILT_IN =
      List.of(
          new Rule("jvm\\.memory\\.heap\\.used", "jvm_memory_heap_used_bytes"),
          new Rule("jvm\\.memory\\.heap\\.committed", "jvm_memory_heap_committed_bytes"),
          new Rule("jvm\\.memory\\.heap\\.max", "jvm_memory_heap_max_bytes"),
          new Rule("jvm\\.memory\\.non-heap\\.used", "jvm_memory_nonheap_used_bytes"),
          new Rule("jvm\\.gc\\.(.+)\\.count", "jvm_gc_collections_total", "gc", 1),
          new Rule("jvm\\.gc\\.(.+)\\.time", "jvm_gc_collection_seconds_total", "gc", 1e-3),
          new Rule("jvm\\.threads\\.count", "jvm_threads"),
          new Rule("jvm\\.threads\\.blocked\\.count", "jvm_threads_blocked"),
          new Rule(
              "io\\.dropwizard\\.jetty\\.MutableServletContextHandler\\.requests",
              "http_server_requests_seconds"),
          new Rule(
              Pattern.compile(
                  "io\\.dropwizard\\.jetty\\.MutableServletContextHandler\\.active-requests"),
              "http_server_active_requests",
              null,
              1,
              true),
          new Rule(
              "io\\.dropwizard\\.jetty\\.MutableServletContextHandler\\.(\\dxx)-responses",
              "http_server_responses_total",
              "code",
              1),
          new Rule(
              "io\\.dropwizard\\.db\\.ManagedPooledDataSource\\..+\\.(active|idle)",
              "batch_gateway_db_connections",
              "state",
              1),
          new Rule(
              "io\\.dropwizard\\.db\\.ManagedPooledDataSource\\..+\\.waiting",
              "batch_gateway_db_connection_waiters"));

  private PrometheusExposition() {}

  /** One family's type and its sample lines, in the order written. */
  private static final class Family {
    final String type;
    final List<String> samples = new ArrayList<>();

    Family(String type) {
      this.type = type;
    }
  }

  /**
   * A registry name read back: the Prometheus family, its labels, a scale for gauges, and whether a
   * Dropwizard counter goes up and down (a gauge in Prometheus' terms).
   */
  record Parsed(String family, Map<String, String> labels, double scale, boolean upAndDown) {}

  /** The whole registry as exposition text. */
  public static String write(MetricRegistry registry) {
    Map<String, Family> families = new TreeMap<>();
    registry
        .getMetrics()
        .forEach(
            (name, metric) -> {
              Parsed parsed = parse(name);
              if (parsed != null) {
                add(families, parsed, metric);
              }
            });
    StringBuilder out = new StringBuilder(16_384);
    families.forEach(
        (family, content) -> {
          if (content.samples.isEmpty()) {
            return;
          }
          out.append("# TYPE ").append(family).append(' ').append(content.type).append('\n');
          content.samples.forEach(line -> out.append(line).append('\n'));
        });
    return out.toString();
  }

  /**
   * The family and labels a registry name stands for, or null when it is not exposed: a Dropwizard
   * built-in without a {@link #BUILT_IN} rule.
   */
  static Parsed parse(String name) {
    if (name.startsWith("batch_gateway_") || name.startsWith("temporal_")) {
      String family = name;
      Map<String, String> labels = new TreeMap<>();
      int open = name.indexOf('[');
      if (open > 0 && name.endsWith("]")) {
        family = name.substring(0, open);
        for (String pair : name.substring(open + 1, name.length() - 1).split(",")) {
          int eq = pair.indexOf('=');
          if (eq > 0) {
            String label = pair.substring(0, eq);
            if (VALID_LABEL.matcher(label).matches()) {
              labels.put(label, pair.substring(eq + 1));
            }
          }
        }
      }
      if (!VALID_NAME.matcher(family).matches()) {
        family = family.replaceAll("[^a-zA-Z0-9_:]", "_");
      }
      return new Parsed(family, labels, 1, false);
    }
    for (Rule rule : BUILT_IN) {
      Matcher matcher = rule.pattern().matcher(name);
      if (matcher.matches()) {
        Map<String, String> labels = new TreeMap<>();
        if (rule.labelName() != null) {
          labels.put(rule.labelName(), matcher.group(1));
        }
        return new Parsed(rule.family(), labels, rule.scale(), rule.upAndDown());
      }
    }
    return null;
  }

  private static void add(Map<String, Family> families, Parsed parsed, Metric metric) {
    String base = parsed.family();
    Map<String, String> labels = parsed.labels();
    switch (metric) {
      case BucketHistogram histogram -> {
        Family family = family(families, base, "histogram");
        if (family == null) {
          return;
        }
        double[] bounds = histogram.bounds();
        long[] cumulative = histogram.cumulativeCounts();
        for (int i = 0; i < bounds.length; i++) {
          family.samples.add(
              sample(base + "_bucket", labels, "le", number(bounds[i]), cumulative[i]));
        }
        long count = cumulative[cumulative.length - 1];
        family.samples.add(sample(base + "_bucket", labels, "le", "+Inf", count));
        family.samples.add(sample(base + "_sum", labels, null, null, histogram.sum()));
        family.samples.add(sample(base + "_count", labels, null, null, count));
      }
      case Counter counter when parsed.upAndDown() -> {
        Family family = family(families, base, "gauge");
        if (family != null) {
          family.samples.add(sample(base, labels, null, null, counter.getCount()));
        }
      }
      case Counter counter -> counter(families, base, labels, counter.getCount());
      case Meter meter -> counter(families, base, labels, meter.getCount());
      case Timer timer -> {
        String name = base.endsWith("_seconds") ? base : base + "_seconds";
        summary(families, name, labels, timer, 1.0 / TimeUnit.SECONDS.toNanos(1));
      }
      case Histogram histogram -> summary(families, base, labels, histogram, 1);
      case Gauge<?> gauge -> {
        Object value = gauge.getValue();
        double number;
        if (value instanceof Number n) {
          number = n.doubleValue();
        } else if (value instanceof Boolean b) {
          number = b ? 1 : 0;
        } else {
          return;
        }
        number *= parsed.scale();
        // Dropwizard's GC gauges count up; they are counters in Prometheus' terms.
        if (base.endsWith("_total")) {
          Family family = family(families, base, "counter");
          if (family != null) {
            family.samples.add(sample(base, labels, null, null, number));
          }
          return;
        }
        Family family = family(families, base, "gauge");
        if (family != null) {
          family.samples.add(sample(base, labels, null, null, number));
        }
      }
      default -> {}
    }
  }

  private static void counter(
      Map<String, Family> families, String base, Map<String, String> labels, long count) {
    String name = base.endsWith("_total") ? base : base + "_total";
    Family family = family(families, name, "counter");
    if (family != null) {
      family.samples.add(sample(name, labels, null, null, count));
    }
  }

  private static void summary(
      Map<String, Family> families,
      String name,
      Map<String, String> labels,
      Sampling sampling,
      double scale) {
    Family family = family(families, name, "summary");
    if (family == null) {
      return;
    }
    Snapshot snapshot = sampling.getSnapshot();
    for (double quantile : QUANTILES) {
      family.samples.add(
          sample(name, labels, "quantile", number(quantile), snapshot.getValue(quantile) * scale));
    }
    family.samples.add(
        sample(
            name + "_count",
            labels,
            null,
            null,
            ((com.codahale.metrics.Counting) sampling).getCount()));
  }

  /** The family, created with {@code type}; null when it exists with another type. */
  private static Family family(Map<String, Family> families, String name, String type) {
    Family family = families.computeIfAbsent(name, n -> new Family(type));
    return family.type.equals(type) ? family : null;
  }

  private static String sample(
      String name, Map<String, String> labels, String extraName, String extraValue, double value) {
    return line(name, labels, extraName, extraValue, number(value));
  }

  private static String sample(
      String name, Map<String, String> labels, String extraName, String extraValue, long value) {
    return line(name, labels, extraName, extraValue, Long.toString(value));
  }

  private static String line(
      String name, Map<String, String> labels, String extraName, String extraValue, String value) {
    StringBuilder line = new StringBuilder(name);
    if (!labels.isEmpty() || extraName != null) {
      line.append('{');
      boolean first = true;
      for (Map.Entry<String, String> label : labels.entrySet()) {
        if (!first) {
          line.append(',');
        }
        first = false;
        line.append(label.getKey()).append("=\"").append(escape(label.getValue())).append('"');
      }
      if (extraName != null) {
        if (!first) {
          line.append(',');
        }
        line.append(extraName).append("=\"").append(escape(extraValue)).append('"');
      }
      line.append('}');
    }
    return line.append(' ').append(value).toString();
  }

  static String number(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "+Inf" : "-Inf";
    }
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return Long.toString((long) value);
    }
    return Double.toString(value);
  }

  static String escape(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
