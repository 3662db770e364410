package dev.batchgateway.activities.chunk;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.batchgateway.activities.model.Ids;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Formats the lines of output and error files, keys in the order OpenAI writes them: {@code id,
 * custom_id, response, error}.
 */
public final class OutputLines {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFactory FACTORY = MAPPER.getFactory();

  /** The error codes of lines that never got an answer. */
  public enum NoAnswer {
    BATCH_EXPIRED(
        "batch_expired",
        "This request could not be executed before the completion window expired."),
    BATCH_CANCELLED(
        "batch_cancelled", "This request was not executed because the batch was cancelled."),
    REQUEST_TIMEOUT("request_timeout", "The inference server did not answer this request in time."),
    RESPONSE_TOO_LARGE(
        "response_too_large",
        "The inference server's response was larger than the gateway's limit"
            + " (batches.maxResponseSize) and was not read."),
    BATCH_FAILED("batch_failed", "This request could not be executed."),
    BACKEND_UNREACHABLE(
        "backend_unreachable",
        "This request could not be executed: the inference server was unreachable until the"
            + " batch's deadline."),
    RESULT_LOST(
        "result_lost",
        "The result of this request was lost: its checkpoint could not be read back. The"
            + " request may have run.");

    private final String code;
    private final String message;

    NoAnswer(String code, String message) {
      this.code = code;
      this.message = message;
    }

    public String code() {
      return code;
    }

    public String message() {
      return message;
    }
  }

  private OutputLines() {}

  /**
   * A line for a request the backend answered.
   *
   * @param body the backend's body, parsed; written compactly so the line stays one line
   */
  public static byte[] answered(String customId, int statusCode, String requestId, JsonNode body) {
    return write(
        Ids.newRequestId(),
        customId,
        gen -> {
          gen.writeFieldName("response");
          gen.writeStartObject();
          gen.writeNumberField("status_code", statusCode);
          gen.writeStringField("request_id", requestId);
          gen.writeFieldName("body");
          gen.writeTree(body);
          gen.writeEndObject();
          gen.writeNullField("error");
        });
  }

  /** A line for a request that got no answer. */
  public static byte[] unanswered(String customId, NoAnswer reason, String detail) {
    return unanswered(Ids.newRequestId(), customId, reason, detail);
  }

  /** A line for a request that got no answer, with a given line id. */
  public static byte[] unanswered(String id, String customId, NoAnswer reason, String detail) {
    return write(
        id,
        customId,
        gen -> {
          gen.writeNullField("response");
          gen.writeFieldName("error");
          gen.writeStartObject();
          gen.writeStringField("code", reason.code());
          gen.writeStringField(
              "message", detail == null ? reason.message() : reason.message() + " " + detail);
          gen.writeEndObject();
        });
  }

  /** An error body in OpenAI's envelope, for backend answers that were not JSON. */
  public static JsonNode errorBody(int statusCode, String text) {
    ObjectNode body = MAPPER.createObjectNode();
    ObjectNode error = body.putObject("error");
    error.put("message", text);
    error.put("type", statusCode >= 500 ? "server_error" : "invalid_request_error");
    error.putNull("param");
    error.putNull("code");
    return body;
  }

  private interface Fields {
    void write(JsonGenerator gen) throws IOException;
  }

  private static byte[] write(String id, String customId, Fields fields) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator gen = FACTORY.createGenerator(out)) {
      gen.writeStartObject();
      gen.writeStringField("id", id);
      gen.writeStringField("custom_id", customId);
      fields.write(gen);
      gen.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
