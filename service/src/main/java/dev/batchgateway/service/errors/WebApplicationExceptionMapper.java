package dev.batchgateway.service.errors;

import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;

/** Jersey's own errors (unknown route, wrong method, unsupported media type) in the envelope. */
public final class WebApplicationExceptionMapper
    implements ExceptionMapper<WebApplicationException> {
  @Context private UriInfo uriInfo;
  @Context private jakarta.ws.rs.core.Request request;

  @Override
  public Response toResponse(WebApplicationException e) {
    int status = e.getResponse().getStatus();
    String message;
    if (e instanceof NotFoundException || e instanceof NotAllowedException) {
      message =
          "Unknown request URL: "
              + request.getMethod()
              + " /"
              + dev.batchgateway.activities.model.ErrorText.quote(
                  uriInfo.getPath().replaceFirst("^/", ""))
              + ". Please check the URL for typos, or see the API reference.";
      status = 404;
    } else {
      message = e.getMessage() == null ? "Request failed" : e.getMessage();
    }
    return ErrorResponses.of(
        new ApiException(
            status, ErrorResponses.typeFor(status), message, null, null, status >= 500));
  }
}
