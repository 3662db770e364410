package dev.batchgateway.activities.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.MetricRegistryListener;
import org.junit.jupiter.api.Test;

class BucketHistogramTest {
  @Test
  void aValueOnABoundCountsInThatBucketAndLargerOnesInInf() {
    BucketHistogram histogram = BucketHistogram.ofNanos(new double[] {0.001, 0.01});

    histogram.observe(1_000_000); // exactly 1 ms
    histogram.observe(1_000_001);
    histogram.observe(50_000_000);

    assertThat(histogram.cumulativeCounts()).containsExactly(1, 2, 3);
    assertThat(histogram.getCount()).isEqualTo(3);
    assertThat(histogram.sum()).isEqualTo(0.052000001);
  }

  @Test
  void oneNameIsOneHistogram() {
    MetricRegistry registry = new MetricRegistry();
    BucketHistogram first =
        BucketHistogram.registerNanos(registry, "x_seconds", BucketHistogram.LATENCY_SECONDS);
    BucketHistogram second =
        BucketHistogram.registerNanos(registry, "x_seconds", BucketHistogram.LATENCY_SECONDS);
    assertThat(second).isSameAs(first);
  }

  @Test
  void aRegistryWithListenersTakesIt() {
    MetricRegistry registry = new MetricRegistry();
    registry.addListener(new MetricRegistryListener.Base() {});
    BucketHistogram histogram =
        BucketHistogram.registerNanos(registry, "y_seconds", BucketHistogram.WAIT_SECONDS);
    histogram.observe(5);
    assertThat(registry.getGauges().get("y_seconds").getValue()).isEqualTo(1L);
  }

  @Test
  void boundsMustIncrease() {
    assertThatThrownBy(() -> BucketHistogram.of(new double[] {1, 1}))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void labelValuesCannotBreakTheName() {
    assertThat(MetricNames.labeled("f", "pool", "a,b=c]", "outcome", "x"))
        .isEqualTo("f[pool=a_b_c_,outcome=x]");
    assertThat(MetricNames.labeled("f")).isEqualTo("f");
  }
}
