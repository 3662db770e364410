package dev.batchgateway.activities.port;

/**
 * @param requestId the backend's request id header, when it sent one
 * @param retryAfterMillis the backend's {@code Retry-After}, or -1
 */
public record InferenceResponse(
    int statusCode, byte[] body, String requestId, long retryAfterMillis) {

  public boolean isSuccess() {
    return statusCode >= 200 && statusCode < 300;
  }
}
