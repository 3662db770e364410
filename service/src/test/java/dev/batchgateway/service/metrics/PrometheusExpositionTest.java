package dev.batchgateway.service.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.metrics.BucketHistogram;
import dev.batchgateway.activities.metrics.MetricNames;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PrometheusExpositionTest {
  private final MetricRegistry registry = new MetricRegistry();

  @Test
  void labelsInTheNameBecomeLabelsAndCountersEndInTotal() {
    registry.counter(MetricNames.labeled("batch_gateway_things_total", "pool", "a")).inc(3);
    registry.counter(MetricNames.labeled("batch_gateway_things_total", "pool", "b")).inc(4);
    registry.meter("batch_gateway_marks").mark(2);

    ExpositionText text = ExpositionText.parse(PrometheusExposition.write(registry));

    assertThat(text.families)
        .containsEntry("batch_gateway_things_total", "counter")
        .containsEntry("batch_gateway_marks_total", "counter");
    assertThat(text.sum("batch_gateway_things_total", Map.of("pool", "a"))).isEqualTo(3);
    assertThat(text.sum("batch_gateway_things_total", Map.of("pool", "b"))).isEqualTo(4);
    assertThat(text.sum("batch_gateway_marks_total", Map.of())).isEqualTo(2);
  }

  @Test
  void aBucketHistogramIsCumulativeWithSumAndCountInSeconds() {
    BucketHistogram histogram =
        BucketHistogram.registerNanos(
            registry,
            MetricNames.labeled("batch_gateway_wait_seconds", "pool", "p"),
            new double[] {0.1, 1});
    histogram.observe(TimeUnit.MILLISECONDS.toNanos(50));
    histogram.observe(TimeUnit.MILLISECONDS.toNanos(100));
    histogram.observe(TimeUnit.MILLISECONDS.toNanos(500));
    histogram.observe(TimeUnit.SECONDS.toNanos(3));

    String written = PrometheusExposition.write(registry);
    ExpositionText text = ExpositionText.parse(written);

    assertThat(text.families).containsEntry("batch_gateway_wait_seconds", "histogram");
    assertThat(written)
        .contains("batch_gateway_wait_seconds_bucket{pool=\"p\",le=\"0.1\"} 2\n")
        .contains("batch_gateway_wait_seconds_bucket{pool=\"p\",le=\"1\"} 3\n")
        .contains("batch_gateway_wait_seconds_bucket{pool=\"p\",le=\"+Inf\"} 4\n")
        .contains("batch_gateway_wait_seconds_count{pool=\"p\"} 4\n");
    assertThat(text.sum("batch_gateway_wait_seconds_sum", Map.of())).isEqualTo(3.65);
  }

  @Test
  void timersAreSummariesInSecondsAndGaugesKeepTheirValue() {
    registry.timer("temporal_request_latency[namespace=default]").update(2, TimeUnit.SECONDS);
    registry.<Gauge<Double>>gauge(
        MetricNames.labeled("batch_gateway_capacity_kv_cache_usage_ratio", "pool", "x"),
        () -> () -> 0.25);
    registry.<Gauge<String>>gauge("batch_gateway_not_a_number", () -> () -> "text");

    ExpositionText text = ExpositionText.parse(PrometheusExposition.write(registry));

    assertThat(text.families)
        .containsEntry("temporal_request_latency_seconds", "summary")
        .containsEntry("batch_gateway_capacity_kv_cache_usage_ratio", "gauge")
        .doesNotContainKey("batch_gateway_not_a_number");
    assertThat(
            text.sum(
                "temporal_request_latency_seconds",
                Map.of("namespace", "default", "quantile", "0.99")))
        .isEqualTo(2.0);
    assertThat(text.sum("temporal_request_latency_seconds_count", Map.of())).isEqualTo(1);
    assertThat(text.sum("batch_gateway_capacity_kv_cache_usage_ratio", Map.of("pool", "x")))
        .isEqualTo(0.25);
  }

  @Test
  void builtInsAreTranslatedOrLeftOut() {
    registry.<Gauge<Long>>gauge("jvm.memory.heap.used", () -> () -> 1024L);
    registry.<Gauge<Long>>gauge("jvm.gc.G1-Young-Generation.time", () -> () -> 1500L);
    registry.<Gauge<Long>>gauge("jvm.gc.G1-Young-Generation.count", () -> () -> 7L);
    registry.<Gauge<Double>>gauge("jvm.buffers.direct.capacity", () -> () -> 1.0);
    registry.meter("io.dropwizard.jetty.MutableServletContextHandler.5xx-responses").mark();

    ExpositionText text = ExpositionText.parse(PrometheusExposition.write(registry));

    assertThat(text.families.keySet())
        .containsExactlyInAnyOrder(
            "jvm_memory_heap_used_bytes",
            "jvm_gc_collection_seconds_total",
            "jvm_gc_collections_total",
            "http_server_responses_total");
    assertThat(text.sum("jvm_gc_collection_seconds_total", Map.of("gc", "G1-Young-Generation")))
        .isEqualTo(1.5);
    assertThat(text.families).containsEntry("jvm_gc_collections_total", "counter");
    assertThat(text.sum("http_server_responses_total", Map.of("code", "5xx"))).isEqualTo(1);
  }

  @Test
  void labelValuesAreEscaped() {
    registry.counter("batch_gateway_odd_total[model=a\"b\\c]").inc();

    String written = PrometheusExposition.write(registry);

    assertThat(written).contains("batch_gateway_odd_total{model=\"a\\\"b\\\\c\"} 1\n");
    assertThat(ExpositionText.parse(written).find("batch_gateway_odd_total", Map.of())).hasSize(1);
  }
}
