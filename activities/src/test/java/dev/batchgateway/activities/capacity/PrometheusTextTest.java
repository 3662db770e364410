package dev.batchgateway.activities.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PrometheusTextTest {

  @Test
  void sumsGaugesOverLabelSetsAndSkipsComments() {
    PrometheusText text =
        PrometheusText.parse(
            """
            # HELP vllm:num_requests_running Number of requests in model execution batches.
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running{model_name="Qwen/Qwen3-0.6B"} 4
            vllm:num_requests_running{model_name="other"} 3
            vllm:num_requests_waiting{model_name="Qwen/Qwen3-0.6B"} 2.0
            """);

    assertThat(text.sum("vllm:num_requests_running")).isEqualTo(7);
    assertThat(text.count("vllm:num_requests_running")).isEqualTo(2);
    assertThat(text.sum("vllm:num_requests_waiting")).isEqualTo(2);
    assertThat(text.has("vllm:kv_cache_usage_perc")).isFalse();
    assertThat(text.sum("vllm:kv_cache_usage_perc")).isZero();
  }

  @Test
  void readsHistogramSumAndCountAndInfinityBuckets() {
    PrometheusText text =
        PrometheusText.parse(
            """
            vllm:time_to_first_token_seconds_bucket{model_name="m",le="0.05"} 3
            vllm:time_to_first_token_seconds_bucket{model_name="m",le="+Inf"} 10
            vllm:time_to_first_token_seconds_sum{model_name="m"} 0.5
            vllm:time_to_first_token_seconds_count{model_name="m"} 10
            """);

    assertThat(text.sum("vllm:time_to_first_token_seconds_sum")).isEqualTo(0.5);
    assertThat(text.sum("vllm:time_to_first_token_seconds_count")).isEqualTo(10);
    assertThat(text.sum("vllm:time_to_first_token_seconds_bucket")).isEqualTo(13);
  }

  @Test
  void survivesEscapesBracesAndSpacesInLabelsNanTimestampsAndJunk() {
    PrometheusText text =
        PrometheusText.parse(
            "vllm:num_requests_running{model_name=\"a \\\"b\\\" } {c}\",x=\"\\\\\"} 5 1712345678000\r\n"
                + "vllm:num_requests_running{model_name=\"nan\"} NaN\n"
                + "vllm:kv_cache_usage_perc 0.25\n"
                + "garbage line here\n"
                + "broken{unclosed=\"x 3\n"
                + "\n"
                + "   \n"
                + "up +Inf\n");

    assertThat(text.sum("vllm:num_requests_running")).isEqualTo(5);
    assertThat(text.count("vllm:num_requests_running")).isEqualTo(1);
    assertThat(text.sum("vllm:kv_cache_usage_perc")).isEqualTo(0.25);
    assertThat(text.has("garbage")).isFalse();
    assertThat(text.has("broken")).isFalse();
    assertThat(text.sum("up")).isInfinite();
  }
}
