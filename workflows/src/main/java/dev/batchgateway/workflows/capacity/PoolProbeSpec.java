package dev.batchgateway.workflows.capacity;

import java.util.List;

/**
 * What the capacity probe of one inference pool reads and the bounds it keeps the limit in. Built
 * by the service from its configuration and carried in the workflow input, so operators see it in
 * the Temporal UI.
 *
 * @param pool the inference pool, as the limiter names it
 * @param metricsUrls the pool's engines' Prometheus endpoints, summed; empty = no engine metrics
 * @param maxConcurrency how many requests the pool's engines run at once, summed over them (vLLM's
 *     {@code --max-num-seqs}); 0 = learn it from the engines
 * @param minPermits the lowest limit the controller sets (pause and pin may go lower)
 * @param maxPermits the highest limit the controller sets
 * @param minHeadroom engine slots always left free for interactive traffic
 * @param headroomFraction the share of the capacity left free, when it is more than minHeadroom
 * @param intervalMillis how often the loop reads the engines and decides
 * @param runMillis how long one probe activity loops before it returns to the workflow
 */
public record PoolProbeSpec(
    String pool,
    List<String> metricsUrls,
    int maxConcurrency,
    int minPermits,
    int maxPermits,
    int minHeadroom,
    double headroomFraction,
    long intervalMillis,
    long runMillis) {

  public PoolProbeSpec {
    metricsUrls = metricsUrls == null ? List.of() : List.copyOf(metricsUrls);
  }
}
