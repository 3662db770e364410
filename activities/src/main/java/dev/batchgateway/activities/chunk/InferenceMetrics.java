package dev.batchgateway.activities.chunk;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.metrics.BucketHistogram;
import dev.batchgateway.activities.metrics.MetricNames;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.ResponseTooLargeException;
import java.net.http.HttpTimeoutException;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;

/**
 * One pool's inference-call metrics, registered once when the pool is first used and then updated
 * by reference on every request: {@code batch_gateway_inference_requests_total{pool,outcome}},
 * {@code batch_gateway_inference_request_duration_seconds{pool}} and {@code
 * batch_gateway_permit_wait_seconds{pool}}.
 */
final class InferenceMetrics {
  /** How one call to the inference pool ended. */
  enum Outcome {
    /** A 2xx answer. */
    SUCCESS,
    /** A 408, 429, 503 or 504: the engine or its gateway is overloaded (retried). */
    OVERLOADED,
    /** Another 4xx answer. */
    CLIENT_ERROR,
    /** Another 5xx (or unexpected) answer. */
    SERVER_ERROR,
    /** No answer within the request timeout. */
    TIMEOUT,
    /** No connection could be made, or the pool's model list could not be read. */
    UNREACHABLE,
    /** The answer was over maxResponseSize. */
    TOO_LARGE,
    /** Cut because the chunk stopped (cancel, expiry, drain). */
    CANCELLED,
    /** Any other transport failure. */
    ERROR;

    final String label = name().toLowerCase(Locale.ROOT);
  }

  private final Counter[] outcomes = new Counter[Outcome.values().length];
  final BucketHistogram duration;
  final BucketHistogram permitWait;

  InferenceMetrics(MetricRegistry registry, String pool) {
    for (Outcome outcome : Outcome.values()) {
      outcomes[outcome.ordinal()] =
          registry.counter(
              MetricNames.labeled(
                  "batch_gateway_inference_requests_total",
                  "pool",
                  pool,
                  "outcome",
                  outcome.label));
    }
    duration =
        BucketHistogram.registerNanos(
            registry,
            MetricNames.labeled("batch_gateway_inference_request_duration_seconds", "pool", pool),
            BucketHistogram.LATENCY_SECONDS);
    permitWait =
        BucketHistogram.registerNanos(
            registry,
            MetricNames.labeled("batch_gateway_permit_wait_seconds", "pool", pool),
            BucketHistogram.WAIT_SECONDS);
  }

  /** How a call ended, from what the client's future completed with. */
  static Outcome outcomeOf(InferenceResponse response, Throwable error) {
    if (error != null) {
      Throwable cause = error instanceof CompletionException ? error.getCause() : error;
      if (cause instanceof CancellationException) {
        return Outcome.CANCELLED;
      }
      if (ResponseTooLargeException.in(cause) != null) {
        return Outcome.TOO_LARGE;
      }
      if (ChunkRunner.isUnreachable(cause)) {
        return Outcome.UNREACHABLE;
      }
      return cause instanceof HttpTimeoutException ? Outcome.TIMEOUT : Outcome.ERROR;
    }
    if (response.isSuccess()) {
      return Outcome.SUCCESS;
    }
    int status = response.statusCode();
    if (RetryPolicy.isOverload(status)) {
      return Outcome.OVERLOADED;
    }
    return status >= 400 && status < 500 ? Outcome.CLIENT_ERROR : Outcome.SERVER_ERROR;
  }

  void count(Outcome outcome) {
    outcomes[outcome.ordinal()].inc();
  }
}
