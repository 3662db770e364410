package dev.batchgateway.service.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/** {@code {"error": {"message", "type", "param", "code"}}}, all four keys always present. */
public record ErrorEnvelope(Body error) {

  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Body(String message, String type, String param, String code) {}

  public static ErrorEnvelope of(String message, String type, String param, String code) {
    return new ErrorEnvelope(new Body(message, type, param, code));
  }
}
