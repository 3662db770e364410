package dev.batchgateway.service.inference;

import java.util.List;

/**
 * One inference pool as the capacity controller sees it.
 *
 * @param name the pool's name, the same one permits are counted under
 * @param metricsUrls each endpoint's Prometheus metrics ({@code vllm:num_requests_waiting}, …)
 * @param maxConcurrency the engines' max concurrent sequences summed over the endpoints; 0 when any
 *     endpoint does not say
 */
public record PoolDefinition(String name, List<String> metricsUrls, int maxConcurrency) {
  public PoolDefinition {
    metricsUrls = List.copyOf(metricsUrls);
    maxConcurrency = Math.max(0, maxConcurrency);
  }
}
