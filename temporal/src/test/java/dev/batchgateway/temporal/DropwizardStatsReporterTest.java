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
            "temporal_activity_execution_latency[namespace=default,task_queue=batch-gateway]");
    assertThat(DropwizardStatsReporter.name("poll_latency", Map.of()))
        .isEqualTo("temporal_poll_latency");
  }

  @Test
  void theSdksPrefixIsNotDoubledAndTheGatewaysOwnMetricsKeepOnlyTheirTags() {
    assertThat(
            DropwizardStatsReporter.name(
                "temporal_request", Map.of("namespace", "default", "operation", "PollTask")))
        .isEqualTo("temporal_request[namespace=default,operation=PollTask]");
    assertThat(
            DropwizardStatsReporter.name(
                "temporal_num_pollers",
                Map.of("namespace", "default", "activity_type", "none", "poller_type", "")))
        .isEqualTo("temporal_num_pollers[namespace=default]");
    assertThat(
            DropwizardStatsReporter.name(
                "batch_gateway_batches_ended",
                Map.of(
                    "namespace", "default",
                    "task_queue", "batch-gateway",
                    "workflow_type", "BatchWorkflow",
                    "status", "completed")))
        .isEqualTo("batch_gateway_batches_ended[status=completed]");
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

    assertThat(registry.counter("temporal_request[namespace=default]").getCount()).isEqualTo(7);
    assertThat(registry.getGauges().get("temporal_slots[namespace=default]").getValue())
        .isEqualTo(2.0);
    assertThat(registry.timer("temporal_latency[namespace=default]").getCount()).isEqualTo(1);
    assertThat(registry.timer("temporal_poll[namespace=default]").getCount()).isEqualTo(7);
    assertThat(registry.histogram("temporal_sizes[namespace=default]").getCount()).isEqualTo(2);
  }
}
