package dev.batchgateway.service.errors;

import dev.batchgateway.service.http.RequestIds;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** Anything unforeseen: logged with a reference the user can quote, answered as a 500. */
public final class UnexpectedExceptionMapper implements ExceptionMapper<Throwable> {
  private static final Logger log = LoggerFactory.getLogger(UnexpectedExceptionMapper.class);

  @Override
  public Response toResponse(Throwable e) {
    // The request's id when there is one, so the user's x-request-id finds the log line.
    String reference = MDC.get(RequestIds.MDC_KEY);
    if (reference == null) {
      reference = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
    }
    log.error("Unhandled error, reference {}", reference, e);
    return ErrorResponses.of(
        new ApiException(
            500,
            "server_error",
            "The server had an error while processing your request (reference " + reference + ").",
            null,
            null,
            true));
  }
}
