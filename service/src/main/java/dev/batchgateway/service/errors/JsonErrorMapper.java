package dev.batchgateway.service.errors;

import com.fasterxml.jackson.core.JsonProcessingException;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;

/** A request body that is not valid JSON. */
public final class JsonErrorMapper implements ExceptionMapper<JsonProcessingException> {
  @Override
  public Response toResponse(JsonProcessingException e) {
    return ErrorResponses.of(
        ApiException.badRequest(
            "We could not parse the JSON body of your request: " + e.getOriginalMessage(), null));
  }
}
