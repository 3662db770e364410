package dev.batchgateway.activities.chunk;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.batchgateway.activities.model.Ids;
import dev.batchgateway.activities.model.Usage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The output line of a request the backend answered with JSON, built from the answer's bytes
 * without a JSON tree: the body is checked by one streaming pass (which also picks up its {@code
 * usage}) and copied into the line as it came, line breaks turned into spaces. A tree of a large
 * answer (an embedding is mostly numbers) takes several times the answer's size; this takes the
 * answer's size once more, for the line.
 *
 * @param line the result line, keys {@code id, custom_id, response, error}
 * @param usage the body's token usage, zero when it has none
 */
public record AnsweredLine(byte[] line, Usage usage) {
  private static final byte[] SUFFIX = "},\"error\":null}".getBytes(StandardCharsets.US_ASCII);

  /** Parses answers of up to {@code maxResponseBytes}; the usage subtree is the only tree built. */
  public static ObjectMapper parserFor(ObjectMapper json, int maxResponseBytes) {
    JsonFactory factory = json.getFactory().copy();
    factory.setStreamReadConstraints(
        StreamReadConstraints.builder()
            .maxDocumentLength(maxResponseBytes)
            .maxStringLength(
                Math.max(maxResponseBytes, StreamReadConstraints.DEFAULT_MAX_STRING_LEN))
            .build());
    return json.copyWith(factory);
  }

  /**
   * The line for {@code body}, or null when the body is not exactly one JSON object or array (then
   * the caller wraps it as text).
   */
  public static AnsweredLine of(
      ObjectMapper json, String customId, int statusCode, String requestId, byte[] body) {
    Usage usage = scan(json, body);
    if (usage == null) {
      return null;
    }
    byte[] prefix = prefix(json, customId, statusCode, requestId);
    byte[] line = new byte[prefix.length + body.length + SUFFIX.length];
    System.arraycopy(prefix, 0, line, 0, prefix.length);
    for (int i = 0; i < body.length; i++) {
      byte b = body[i];
      // In valid JSON a line break can only be whitespace between tokens.
      line[prefix.length + i] = b == '\n' || b == '\r' ? (byte) ' ' : b;
    }
    System.arraycopy(SUFFIX, 0, line, prefix.length + body.length, SUFFIX.length);
    return new AnsweredLine(line, usage);
  }

  /** The body's usage, or null when the body is not one JSON container. */
  private static Usage scan(ObjectMapper json, byte[] body) {
    try (JsonParser parser = json.createParser(body)) {
      JsonToken root = parser.nextToken();
      if (root != JsonToken.START_OBJECT && root != JsonToken.START_ARRAY) {
        return null;
      }
      Usage usage = root == JsonToken.START_OBJECT ? usageOfBody(json, parser) : Usage.ZERO;
      if (root == JsonToken.START_ARRAY) {
        parser.skipChildren();
      }
      return parser.nextToken() == null ? usage : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** The usage recorded in a result line ({@code response.body.usage}), read without a tree. */
  public static Usage usageOfLine(ObjectMapper json, String line) throws IOException {
    try (JsonParser parser = json.createParser(line)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return Usage.ZERO;
      }
      Usage usage = Usage.ZERO;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        if (parser.nextToken() == JsonToken.START_OBJECT && field.equals("response")) {
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String inner = parser.currentName();
            if (parser.nextToken() == JsonToken.START_OBJECT && inner.equals("body")) {
              usage = usageOfBody(json, parser);
            } else {
              parser.skipChildren();
            }
          }
        } else {
          parser.skipChildren();
        }
      }
      return usage;
    }
  }

  /** Reads the object the parser is at up to its end, building a tree of its usage only. */
  private static Usage usageOfBody(ObjectMapper json, JsonParser parser) throws IOException {
    Usage usage = Usage.ZERO;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      if (field.equals("usage") && value == JsonToken.START_OBJECT) {
        ObjectNode wrapper = json.createObjectNode();
        wrapper.set("usage", parser.<JsonNode>readValueAsTree());
        usage = Usage.fromResponseBody(wrapper);
      } else {
        parser.skipChildren();
      }
    }
    return usage;
  }

  private static byte[] prefix(ObjectMapper json, String customId, int status, String requestId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(160);
    try {
      JsonGenerator gen = json.getFactory().createGenerator(out);
      gen.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
      gen.writeStartObject();
      gen.writeStringField("id", Ids.newRequestId());
      gen.writeStringField("custom_id", customId);
      gen.writeFieldName("response");
      gen.writeStartObject();
      gen.writeNumberField("status_code", status);
      gen.writeStringField("request_id", requestId);
      gen.writeFieldName("body");
      gen.flush();
      // The generator writes a field's colon with its value, which comes from the body.
      out.write(':');
      byte[] prefix = out.toByteArray();
      gen.close();
      return prefix;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
