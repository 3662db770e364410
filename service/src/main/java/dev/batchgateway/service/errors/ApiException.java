package dev.batchgateway.service.errors;

/**
 * An error answer in OpenAI's envelope. Thrown by resources; {@link ApiExceptionMapper} renders it.
 */
public class ApiException extends RuntimeException {
  private final int status;
  private final String type;
  private final String param;
  private final String code;
  private final boolean retryable;

  public ApiException(
      int status, String type, String message, String param, String code, boolean retryable) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
    this.retryable = retryable;
  }

  public static ApiException badRequest(String message, String param) {
    return badRequest(message, param, null);
  }

  public static ApiException badRequest(String message, String param, String code) {
    return new ApiException(400, "invalid_request_error", message, param, code, false);
  }

  public static ApiException notFound(String message, String param) {
    return new ApiException(404, "invalid_request_error", message, param, null, false);
  }

  public static ApiException conflict(String message) {
    return new ApiException(409, "invalid_request_error", message, null, null, false);
  }

  public static ApiException tooLarge(String message, String param) {
    return new ApiException(413, "invalid_request_error", message, param, null, false);
  }

  /** A 429 for a quota that waiting does not free: clients are told not to retry it. */
  public static ApiException quotaExceeded(String message) {
    return new ApiException(429, "rate_limit_error", message, null, "quota_exceeded", false);
  }

  public static ApiException unauthorized(String message) {
    return new ApiException(401, "authentication_error", message, null, "invalid_api_key", false);
  }

  public static ApiException unavailable(String message) {
    return new ApiException(503, "server_error", message, null, null, true);
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String param() {
    return param;
  }

  public String code() {
    return code;
  }

  /** Whether a client may try again; clients retry 409 and 5xx unless told not to. */
  public boolean retryable() {
    return retryable;
  }
}
