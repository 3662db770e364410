package dev.batchgateway.activities.plan;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.ErrorText;
import java.io.IOException;
import java.util.function.Predicate;

/**
 * Checks one input line against the rules of the OpenAI batch input format. Rules that need the
 * whole file (duplicate ids, line count) are the planner's.
 */
public final class LineValidator {

  /** A line that passed: what the planner needs to sort and route it. */
  public record ValidLine(String customId, String model, long prefixKey) {}

  /** Either a valid line or the error it broke first. */
  public record Verdict(ValidLine line, BatchError error) {
    static Verdict ok(ValidLine line) {
      return new Verdict(line, null);
    }

    static Verdict error(String code, String message, String param, int lineNumber) {
      return new Verdict(null, new BatchError(code, message, param, lineNumber));
    }
  }

  private final ObjectReader reader;
  private final String endpoint;
  private final Predicate<String> modelServed;
  private final int completionPrefixChars;
  private final BatchSettings.Limits limits;

  public LineValidator(
      ObjectMapper json,
      String endpoint,
      Predicate<String> modelServed,
      int completionPrefixChars,
      BatchSettings.Limits limits) {
    // A line's tree is bounded by the line's length and depth; Jackson enforces both while it
    // parses, before building anything deeper or longer.
    JsonFactory factory = json.getFactory().copy();
    factory.setStreamReadConstraints(
        StreamReadConstraints.builder()
            .maxNestingDepth(limits.maxJsonDepth())
            .maxDocumentLength(limits.maxLineBytes())
            .maxStringLength(
                Math.max(limits.maxLineBytes(), StreamReadConstraints.DEFAULT_MAX_STRING_LEN))
            .build());
    // A line is one JSON value; anything after it makes the line invalid, not ignored.
    this.reader =
        json.copyWith(factory)
            .readerFor(JsonNode.class)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    this.limits = limits;
    this.endpoint = endpoint;
    this.modelServed = modelServed;
    this.completionPrefixChars = completionPrefixChars;
  }

  /** The error of a line longer than {@code maxLineBytes}, which is never parsed. */
  public BatchError tooLarge(long length, int lineNumber) {
    return new BatchError(
        "line_too_large",
        "This line is "
            + length
            + " bytes; a line may be at most "
            + limits.maxLineBytes()
            + " bytes (batches.maxLineSize).",
        null,
        lineNumber);
  }

  public Verdict check(byte[] bytes, int length, int lineNumber) {
    if (length > limits.maxLineBytes()) {
      return new Verdict(null, tooLarge(length, lineNumber));
    }
    int notUtf8 = Utf8.firstInvalid(bytes, 0, length);
    if (notUtf8 >= 0) {
      return Verdict.error(
          "invalid_json_line",
          "This line is not valid UTF-8: byte "
              + (notUtf8 + 1)
              + " does not start a well-formed character.",
          null,
          lineNumber);
    }
    JsonNode node;
    try {
      node = reader.readValue(bytes, 0, length);
    } catch (StreamConstraintsException e) {
      if (e.getMessage() != null && e.getMessage().contains("nesting depth")) {
        return Verdict.error(
            "json_too_deep",
            "This line nests arrays and objects more than "
                + limits.maxJsonDepth()
                + " levels deep (batches.maxJsonDepth).",
            null,
            lineNumber);
      }
      return Verdict.error(
          "invalid_json_line",
          "This line is not accepted: " + ErrorText.quote(e.getOriginalMessage()),
          null,
          lineNumber);
    } catch (JsonProcessingException e) {
      node = null;
    } catch (IOException e) {
      throw new IllegalStateException("Reading from a byte array cannot fail", e);
    }
    if (node == null || !node.isObject()) {
      return Verdict.error(
          "invalid_json_line",
          "This line is not parseable as valid JSON: each line must be one JSON object.",
          null,
          lineNumber);
    }
    for (String field : new String[] {"custom_id", "method", "url", "body"}) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        return Verdict.error(
            "missing_required_parameter",
            "Missing required parameter: '" + field + "'.",
            field,
            lineNumber);
      }
    }
    JsonNode customId = node.get("custom_id");
    if (!customId.isTextual() || customId.asText().isEmpty()) {
      return Verdict.error(
          "invalid_request", "'custom_id' must be a non-empty string.", "custom_id", lineNumber);
    }
    if (!"POST".equals(node.get("method").asText())) {
      return Verdict.error(
          "invalid_method",
          "Only the POST method is supported for batch requests.",
          "method",
          lineNumber);
    }
    if (!endpoint.equals(node.get("url").asText())) {
      return Verdict.error(
          "invalid_url",
          "The url '"
              + shown(node.get("url").asText())
              + "' does not match the batch endpoint '"
              + endpoint
              + "'.",
          "url",
          lineNumber);
    }
    JsonNode body = node.get("body");
    if (!body.isObject()) {
      return Verdict.error("invalid_request", "'body' must be a JSON object.", "body", lineNumber);
    }
    if (body.path("stream").asBoolean(false)) {
      return Verdict.error(
          "streaming_unsupported",
          "Streaming is not supported in batch requests; remove 'stream' from the body.",
          "body.stream",
          lineNumber);
    }
    JsonNode model = body.get("model");
    if (model == null || !model.isTextual() || model.asText().isEmpty()) {
      return Verdict.error(
          "invalid_request", "Missing required parameter: 'body.model'.", "body.model", lineNumber);
    }
    String required = requiredInput();
    if (required != null && (body.get(required) == null || body.get(required).isNull())) {
      return Verdict.error(
          "invalid_request",
          "Missing required parameter: 'body." + required + "'.",
          "body." + required,
          lineNumber);
    }
    if ("messages".equals(required) && !body.get("messages").isArray()) {
      return Verdict.error(
          "invalid_request", "'body.messages' must be an array.", "body.messages", lineNumber);
    }
    if (!modelServed.test(model.asText())) {
      return Verdict.error(
          "model_not_found",
          "The model '" + shown(model.asText()) + "' is not served by this gateway.",
          "body.model",
          lineNumber);
    }
    return Verdict.ok(
        new ValidLine(
            customId.asText(),
            model.asText(),
            PrefixKeys.of(endpoint, body, completionPrefixChars)));
  }

  /**
   * A value of the input as error messages quote it: cut short ({@link ErrorText#quote}), since a
   * batch keeps up to {@code maxReportedErrors} messages and a value can be as long as a line.
   */
  static String shown(String value) {
    return ErrorText.quote(value);
  }

  private String requiredInput() {
    return switch (endpoint) {
      case "/v1/chat/completions" -> "messages";
      case "/v1/completions" -> "prompt";
      case "/v1/embeddings", "/v1/responses", "/v1/moderations" -> "input";
      default -> null;
    };
  }
}
