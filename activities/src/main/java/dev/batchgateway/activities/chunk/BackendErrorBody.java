package dev.batchgateway.activities.chunk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.batchgateway.activities.model.ErrorText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The body an error line shows for an answer that failed (or was not JSON): the backend's JSON with
 * every string cleaned by {@link ErrorText}, or its text cleaned and wrapped in OpenAI's envelope.
 * Backend errors name hosts, addresses and URLs of the deployment; users see none.
 */
final class BackendErrorBody {
  /** A failed answer larger than this is not parsed but shown as cut text. */
  static final int MAX_JSON_BYTES = 64 * 1024;

  /** How much of each string of a JSON error body, or of a text body, is kept. */
  static final int MAX_TEXT_CHARS = 2048;

  private BackendErrorBody() {}

  static JsonNode of(ObjectMapper json, int statusCode, byte[] body) {
    if (body.length <= MAX_JSON_BYTES) {
      try {
        JsonNode tree = json.readTree(body);
        if (tree != null && tree.isContainerNode()) {
          return scrub(tree);
        }
      } catch (IOException notJson) {
        // shown as text below
      }
    }
    int shown = Math.min(body.length, MAX_JSON_BYTES);
    String text = new String(body, 0, shown, StandardCharsets.UTF_8);
    String cleaned = ErrorText.clean(text, MAX_TEXT_CHARS);
    return OutputLines.errorBody(
        statusCode,
        shown == body.length ? cleaned : cleaned + " (" + body.length + " bytes in all)");
  }

  private static JsonNode scrub(JsonNode node) {
    if (node.isTextual()) {
      return TextNode.valueOf(ErrorText.clean(node.asText(), MAX_TEXT_CHARS));
    }
    if (node instanceof ObjectNode object) {
      for (Map.Entry<String, JsonNode> field : object.properties()) {
        field.setValue(scrub(field.getValue()));
      }
    } else if (node instanceof ArrayNode array) {
      for (int i = 0; i < array.size(); i++) {
        array.set(i, scrub(array.get(i)));
      }
    }
    return node;
  }
}
