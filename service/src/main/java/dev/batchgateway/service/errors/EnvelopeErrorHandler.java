package dev.batchgateway.service.errors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.model.ErrorText;
import dev.batchgateway.service.api.ErrorEnvelope;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.util.List;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error answers (a request line or URI it refuses before any resource sees it, such as
 * an encoded control character in a path) in the OpenAI envelope instead of an empty body or an
 * HTML page. Found by the fuzz suite: such answers were 400s with no body and no Content-Type.
 */
public final class EnvelopeErrorHandler extends ErrorHandler {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The body of an error answer for {@code status}, with Jetty's reason cut short. */
  static byte[] body(int status, String reason) {
    String message =
        (status == 400 ? "Bad request" : "Request refused")
            + (reason == null || reason.isBlank() ? "" : ": " + ErrorText.quote(reason))
            + ".";
    try {
      return JSON.writeValueAsBytes(
          ErrorEnvelope.of(message, ErrorResponses.typeFor(status), null, null));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("An envelope always serializes", e);
    }
  }

  /** Jetty writes no body for methods other than GET, POST and HEAD; the envelope goes to all. */
  @Override
  public boolean errorPageForMethod(String method) {
    return true;
  }

  @Override
  public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
    fields.put(HttpHeader.CONTENT_TYPE, "application/json");
    fields.put("x-should-retry", "false");
    return ByteBuffer.wrap(body(status, reason));
  }

  @Override
  protected boolean generateAcceptableResponse(
      Request request,
      Response response,
      Callback callback,
      String contentType,
      List<Charset> charsets,
      int code,
      String message,
      Throwable cause) {
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.getHeaders().put("x-should-retry", Boolean.toString(code >= 500 || code == 429));
    response.write(true, ByteBuffer.wrap(body(code, message)), callback);
    return true;
  }
}
