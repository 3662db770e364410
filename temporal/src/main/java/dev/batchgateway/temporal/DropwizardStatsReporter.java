package dev.batchgateway.temporal;

import com.codahale.metrics.DefaultSettableGauge;
import com.codahale.metrics.MetricRegistry;
import com.uber.m3.tally.Buckets;
import com.uber.m3.tally.Capabilities;
import com.uber.m3.tally.CapableOf;
import com.uber.m3.tally.StatsReporter;
import com.uber.m3.util.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Forwards the Temporal SDK's metrics (poll latencies, task slots, activity and workflow task
 * outcomes) into the gateway's Dropwizard registry, so they appear on {@code /metrics} beside the
 * gateway's own, named as the admin port's Prometheus exposition reads them: {@code
 * temporal_<name>[k=v,...]} (the SDK's names already start with {@code temporal_}). The gateway's
 * own workflow metrics, reported through {@code Workflow.getMetricsScope()} under names starting
 * with {@code batch_gateway_}, keep their name and only the tags the gateway set on them.
 */
public final class DropwizardStatsReporter implements StatsReporter {
  /** Tags of bounded cardinality; ids would create a metric per workflow. */
  private static final java.util.Set<String> KEPT_TAGS =
      java.util.Set.of(
          "namespace",
          "task_queue",
          "workflow_type",
          "activity_type",
          "operation",
          "worker_type",
          "poller_type",
          "status_code",
          "failure_reason");

  /** Tags the gateway's workflow metrics carry; the SDK adds namespace, queue and type to them. */
  private static final java.util.Set<String> OWN_TAGS = java.util.Set.of("status");

  private static final String OWN_PREFIX = "batch_gateway_";

  /** The value the SDK gives a tag that does not apply to a metric; such a tag is left out. */
  private static final String NOT_APPLICABLE = "none";

  /** Histograms arrive as bucket counts; each bucket is replayed at most this often. */
  private static final long MAX_SAMPLES_PER_BUCKET = 1000;

  private final MetricRegistry registry;

  public DropwizardStatsReporter(MetricRegistry registry) {
    this.registry = registry;
  }

  static String name(String name, Map<String, String> tags) {
    boolean own = name.startsWith(OWN_PREFIX);
    StringBuilder full = new StringBuilder();
    if (!own && !name.startsWith("temporal_")) {
      full.append("temporal_");
    }
    full.append(name);
    java.util.Set<String> keep = own ? OWN_TAGS : KEPT_TAGS;
    Map<String, String> kept = new TreeMap<>();
    if (tags != null) {
      tags.forEach(
          (key, value) -> {
            // The SDK gives every metric every tag, "none" where it does not apply.
            if (keep.contains(key) && !NOT_APPLICABLE.equals(value) && !value.isEmpty()) {
              kept.put(key, value);
            }
          });
    }
    if (!kept.isEmpty()) {
      full.append('[');
      kept.forEach((key, value) -> full.append(key).append('=').append(value).append(','));
      full.setCharAt(full.length() - 1, ']');
    }
    return full.toString();
  }

  @Override
  public void reportCounter(String name, Map<String, String> tags, long value) {
    registry.counter(name(name, tags)).inc(value);
  }

  @Override
  public void reportGauge(String name, Map<String, String> tags, double value) {
    DefaultSettableGauge<Double> gauge =
        registry.gauge(name(name, tags), () -> new DefaultSettableGauge<>(0.0));
    gauge.setValue(value);
  }

  @Override
  public void reportTimer(String name, Map<String, String> tags, Duration interval) {
    registry.timer(name(name, tags)).update(interval.getNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void reportHistogramValueSamples(
      String name,
      Map<String, String> tags,
      Buckets buckets,
      double bucketLowerBound,
      double bucketUpperBound,
      long samples) {
    var histogram = registry.histogram(name(name, tags));
    for (long i = 0; i < Math.min(samples, MAX_SAMPLES_PER_BUCKET); i++) {
      histogram.update((long) bucketUpperBound);
    }
  }

  @Override
  public void reportHistogramDurationSamples(
      String name,
      Map<String, String> tags,
      Buckets buckets,
      Duration bucketLowerBound,
      Duration bucketUpperBound,
      long samples) {
    var timer = registry.timer(name(name, tags));
    long nanos =
        bucketUpperBound.getNanos() == Long.MAX_VALUE
            ? bucketLowerBound.getNanos()
            : bucketUpperBound.getNanos();
    for (long i = 0; i < Math.min(samples, MAX_SAMPLES_PER_BUCKET); i++) {
      timer.update(nanos, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public Capabilities capabilities() {
    return CapableOf.REPORTING_TAGGING;
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}
}
