package dev.batchgateway.service.errors;

import dev.batchgateway.service.api.ErrorEnvelope;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/** Builds error answers in the envelope, with {@code x-should-retry} where it matters. */
public final class ErrorResponses {
  private ErrorResponses() {}

  public static Response of(ApiException e) {
    Response.ResponseBuilder builder =
        Response.status(e.status())
            .type(MediaType.APPLICATION_JSON_TYPE)
            .entity(ErrorEnvelope.of(e.getMessage(), e.type(), e.param(), e.code()));
    // OpenAI clients retry 408, 409, 429 and 5xx by default; say so explicitly either way.
    builder.header("x-should-retry", Boolean.toString(e.retryable()));
    return builder.build();
  }

  public static String typeFor(int status) {
    return switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "invalid_request_error";
      case 429 -> "rate_limit_error";
      default -> status >= 500 ? "server_error" : "invalid_request_error";
    };
  }
}
