package dev.batchgateway.service.inference;

import dev.batchgateway.activities.port.InferenceResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Carries one inference request to one server and reads its whole answer. A connection that cannot
 * be made fails the future with a {@link java.net.ConnectException}; no answer within the request
 * timeout with a {@link java.net.http.HttpTimeoutException}; an answer longer than the limit with a
 * {@link dev.batchgateway.activities.port.ResponseTooLargeException}. Any HTTP answer, whatever its
 * status, completes it normally.
 */
interface InferenceTransport {

  /**
   * @param path the request path, such as {@code /v1/chat/completions}
   * @param headers sent as they are, in this order
   * @param body sent as it is
   */
  CompletableFuture<InferenceResponse> post(String path, Map<String, String> headers, byte[] body);

  /** Parses a {@code Retry-After} header given in seconds; -1 when absent or unreadable. */
  static long retryAfterMillis(String value) {
    if (value == null) {
      return -1;
    }
    try {
      return (long) (Double.parseDouble(value.trim()) * 1000);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
