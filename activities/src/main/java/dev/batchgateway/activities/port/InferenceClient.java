package dev.batchgateway.activities.port;

import java.util.concurrent.CompletableFuture;

/**
 * Sends one OpenAI-compatible request to the inference pool that serves its model. Transport
 * failures (connection refused, timeout) complete the future exceptionally; any HTTP answer,
 * success or not, completes it normally.
 */
public interface InferenceClient {

  CompletableFuture<InferenceResponse> send(InferenceRequest request);

  /**
   * The name of the pool that serves this model, or empty when no configured pool does.
   *
   * @throws ModelListUnavailableException when no pool lists the model and some pool's model list
   *     has not been read from its servers yet
   */
  java.util.Optional<String> poolFor(String model);

  /** The pool's own retry settings, or empty when it keeps the global ones. */
  default java.util.Optional<PoolRetry> retryFor(String pool) {
    return java.util.Optional.empty();
  }
}
