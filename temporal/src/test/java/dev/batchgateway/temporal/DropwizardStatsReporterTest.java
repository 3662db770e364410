package dev.batchgateway.temporal;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.uber.m3.tally.ValueBuckets;
import com.uber.m3.util.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DropwizardStatsReporterTest {
  private final MetricRegistry registry = new MetricRegistry();
  private final DropwizardStatsReporter reporter = new DropwizardStatsReporter(registry);

  @Test
  void keepsBoundedTagsInTheNameAndDropsIds() {
    assertThat(
            DropwizardStatsReporter.name(
                "activity_execution_latency",
                Map.of(
                    "task_queue",
                    "batch-gateway",
                    "workflow_id",
                    "batch_1",
                    "namespace",
                    "default")))
        .isEqualTo(
            "temporal.activity_execution_latency[namespace=default,task_queue=batch-gateway]");
    assertThat(DropwizardStatsReporter.name("poll_latency", Map.of()))
        .isEqualTo("temporal.poll_latency");
  }

  @Test
  void countersAddUpGaugesKeepTheLastValueTimersCount() {
    Map<String, String> tags = Map.of("namespace", "default");
    reporter.reportCounter("request", tags, 3);
    reporter.reportCounter("request", tags, 4);
    reporter.reportGauge("slots", tags, 5);
    reporter.reportGauge("slots", tags, 2);
    reporter.reportTimer("latency", tags, Duration.ofMillis(20));
    reporter.reportHistogramDurationSamples(
        "poll", tags, null, Duration.ofMillis(10), Duration.ofMillis(20), 7);
    reporter.reportHistogramValueSamples("sizes", tags, ValueBuckets.linear(0, 10, 3), 10, 20, 2);

    assertThat(registry.counter("temporal.request[namespace=default]").getCount()).isEqualTo(7);
    assertThat(registry.getGauges().get("temporal.slots[namespace=default]").getValue())
        .isEqualTo(2.0);
    assertThat(registry.timer("temporal.latency[namespace=default]").getCount()).isEqualTo(1);
    assertThat(registry.timer("temporal.poll[namespace=default]").getCount()).isEqualTo(7);
    assertThat(registry.histogram("temporal.sizes[namespace=default]").getCount()).isEqualTo(2);
  }
}
