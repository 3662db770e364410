package dev.batchgateway.activities.plan;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.model.BatchError;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class LineValidatorTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "/v1/chat/completions";
  private static final String CHAT_BODY =
      "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private static LineValidator.Verdict check(String endpoint, String line, int lineNumber) {
    LineValidator validator =
        new LineValidator(
            JSON, endpoint, Set.of("m1")::contains, 16, BatchSettings.Limits.defaults());
    byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
    // The planner hands over a reused buffer that is longer than the line.
    byte[] buffer = new byte[bytes.length + 32];
    System.arraycopy(bytes, 0, buffer, 0, bytes.length);
    buffer[bytes.length] = '}';
    return validator.check(buffer, bytes.length, lineNumber);
  }

  private static String line(String customId, String method, String url, String body) {
    return "{\"custom_id\":"
        + customId
        + ",\"method\":"
        + method
        + ",\"url\":"
        + url
        + ",\"body\":"
        + body
        + "}";
  }

  private static String chatLine(String body) {
    return line("\"r-1\"", "\"POST\"", "\"" + CHAT + "\"", body);
  }

  private static BatchError errorOf(LineValidator.Verdict verdict) {
    assertThat(verdict.line()).as("valid line").isNull();
    assertThat(verdict.error()).isNotNull();
    return verdict.error();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "not json",
        "{\"custom_id\": \"r-1\", ",
        "[1, 2, 3]",
        "\"just a string\"",
        "42",
        "null"
      })
  void aLineThatIsNotAJsonObjectIsInvalidJson(String text) {
    BatchError error = errorOf(check(CHAT, text, 7));

    assertThat(error.code()).isEqualTo("invalid_json_line");
    assertThat(error.param()).isNull();
    assertThat(error.line()).isEqualTo(7);
  }

  @Test
  void aValidObjectFollowedByGarbageIsInvalidJson() {
    String text = chatLine(CHAT_BODY) + " trailing garbage";

    BatchError error = errorOf(check(CHAT, text, 3));

    assertThat(error.code()).isEqualTo("invalid_json_line");
    assertThat(error.line()).isEqualTo(3);
  }

  @ParameterizedTest
  @ValueSource(strings = {"custom_id", "method", "url", "body"})
  void eachMissingTopLevelFieldIsReportedWithItsName(String field) throws Exception {
    var node = (ObjectNode) JSON.readTree(chatLine(CHAT_BODY));
    node.remove(field);

    BatchError error = errorOf(check(CHAT, JSON.writeValueAsString(node), 12));

    assertThat(error.code()).isEqualTo("missing_required_parameter");
    assertThat(error.param()).isEqualTo(field);
    assertThat(error.line()).isEqualTo(12);
  }

  @ParameterizedTest
  @ValueSource(strings = {"custom_id", "method", "url", "body"})
  void aNullTopLevelFieldCountsAsMissing(String field) throws Exception {
    var node = (ObjectNode) JSON.readTree(chatLine(CHAT_BODY));
    node.putNull(field);

    BatchError error = errorOf(check(CHAT, JSON.writeValueAsString(node), 2));

    assertThat(error.code()).isEqualTo("missing_required_parameter");
    assertThat(error.param()).isEqualTo(field);
  }

  @Test
  void aUrlOtherThanTheBatchEndpointIsInvalidUrl() {
    String text = line("\"r-1\"", "\"POST\"", "\"/v1/embeddings\"", CHAT_BODY);

    BatchError error = errorOf(check(CHAT, text, 4));

    assertThat(error.code()).isEqualTo("invalid_url");
    assertThat(error.param()).isEqualTo("url");
    assertThat(error.line()).isEqualTo(4);
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"GET\"", "\"post\"", "\"PUT\""})
  void aMethodOtherThanPostIsInvalidMethod(String method) {
    String text = line("\"r-1\"", method, "\"" + CHAT + "\"", CHAT_BODY);

    BatchError error = errorOf(check(CHAT, text, 5));

    assertThat(error.code()).isEqualTo("invalid_method");
    assertThat(error.param()).isEqualTo("method");
    assertThat(error.line()).isEqualTo(5);
  }

  @Test
  void streamingIsUnsupported() {
    String body =
        "{\"model\":\"m1\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    BatchError error = errorOf(check(CHAT, chatLine(body), 6));

    assertThat(error.code()).isEqualTo("streaming_unsupported");
    assertThat(error.param()).isEqualTo("body.stream");
    assertThat(error.line()).isEqualTo(6);
  }

  @Test
  void streamFalseIsAccepted() {
    String body =
        "{\"model\":\"m1\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    assertThat(check(CHAT, chatLine(body), 1).error()).isNull();
  }

  @Test
  void aModelNoPoolServesIsModelNotFound() {
    String body = "{\"model\":\"other\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    BatchError error = errorOf(check(CHAT, chatLine(body), 8));

    assertThat(error.code()).isEqualTo("model_not_found");
    assertThat(error.param()).isEqualTo("body.model");
    assertThat(error.message()).contains("other");
    assertThat(error.line()).isEqualTo(8);
  }

  @ParameterizedTest
  @CsvSource({
    "/v1/chat/completions, '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}', body.model",
    "/v1/chat/completions, '{\"model\":\"m1\"}', body.messages",
    "/v1/chat/completions, '{\"model\":\"m1\",\"messages\":null}', body.messages",
    "/v1/chat/completions, '{\"model\":\"m1\",\"messages\":\"hi\"}', body.messages",
    "/v1/embeddings, '{\"model\":\"m1\"}', body.input",
    "/v1/embeddings, '{\"input\":\"text\"}', body.model",
    "/v1/completions, '{\"model\":\"m1\"}', body.prompt",
    "/v1/responses, '{\"model\":\"m1\",\"instructions\":\"be brief\"}', body.input",
    "/v1/moderations, '{\"model\":\"m1\"}', body.input"
  })
  void aBodyWithoutItsRequiredFieldIsInvalidRequest(String endpoint, String body, String param) {
    String text = line("\"r-1\"", "\"POST\"", "\"" + endpoint + "\"", body);

    BatchError error = errorOf(check(endpoint, text, 9));

    assertThat(error.code()).isEqualTo("invalid_request");
    assertThat(error.param()).isEqualTo(param);
    assertThat(error.line()).isEqualTo(9);
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"\"", "17", "{\"a\":1}"})
  void aCustomIdThatIsNotANonEmptyStringIsInvalidRequest(String customId) {
    String text = line(customId, "\"POST\"", "\"" + CHAT + "\"", CHAT_BODY);

    BatchError error = errorOf(check(CHAT, text, 10));

    assertThat(error.code()).isEqualTo("invalid_request");
    assertThat(error.param()).isEqualTo("custom_id");
  }

  @Test
  void aBodyThatIsNotAnObjectIsInvalidRequest() {
    BatchError error = errorOf(check(CHAT, chatLine("\"hello\""), 11));

    assertThat(error.code()).isEqualTo("invalid_request");
    assertThat(error.param()).isEqualTo("body");
  }

  @Test
  void aChatLineWithStringContentIsValid() {
    String body =
        "{\"model\":\"m1\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
            + "{\"role\":\"user\",\"content\":\"hi\"}]}";

    LineValidator.Verdict verdict = check(CHAT, chatLine(body), 1);

    assertThat(verdict.error()).isNull();
    assertThat(verdict.line().customId()).isEqualTo("r-1");
    assertThat(verdict.line().model()).isEqualTo("m1");
    assertThat(verdict.line().prefixKey()).isNotZero();
  }

  @Test
  void aChatLineWithContentPartsIsValid() {
    String body =
        "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":["
            + "{\"type\":\"text\",\"text\":\"What is in this image?\"},"
            + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}}]}],"
            + "\"max_tokens\":50}";

    LineValidator.Verdict verdict = check(CHAT, chatLine(body), 1);

    assertThat(verdict.error()).isNull();
    assertThat(verdict.line().customId()).isEqualTo("r-1");
    assertThat(verdict.line().model()).isEqualTo("m1");
  }

  @ParameterizedTest
  @CsvSource({
    "/v1/embeddings, '{\"model\":\"m1\",\"input\":\"embed me\"}'",
    "/v1/embeddings, '{\"model\":\"m1\",\"input\":[\"a\",\"b\"]}'",
    "/v1/completions, '{\"model\":\"m1\",\"prompt\":\"Once upon a time\",\"max_tokens\":5}'",
    "/v1/responses, '{\"model\":\"m1\",\"input\":\"Tell me a joke\"}'",
    "/v1/responses, '{\"model\":\"m1\",\"instructions\":\"Be brief\","
        + "\"input\":[{\"role\":\"user\",\"content\":\"hi\"}]}'"
  })
  void validLinesOfTheOtherEndpoints(String endpoint, String body) {
    String text = line("\"req-42\"", "\"POST\"", "\"" + endpoint + "\"", body);

    LineValidator.Verdict verdict = check(endpoint, text, 1);

    assertThat(verdict.error()).isNull();
    assertThat(verdict.line().customId()).isEqualTo("req-42");
    assertThat(verdict.line().model()).isEqualTo("m1");
  }

  @Test
  void userValuesAreQuotedOnlyUpToABoundAndOnOneLine() {
    String longUrl = "/v1/" + "u".repeat(20_000);
    BatchError url =
        errorOf(check(CHAT, line("\"r-1\"", "\"POST\"", "\"" + longUrl + "\"", CHAT_BODY), 1));
    assertThat(url.code()).isEqualTo("invalid_url");
    assertThat(url.message().length()).isLessThan(400);

    String model = "m\\n" + "x".repeat(20_000);
    BatchError unknown =
        errorOf(check(CHAT, chatLine("{\"model\":\"" + model + "\",\"messages\":[]}"), 2));
    assertThat(unknown.message()).doesNotContain("\n").contains("'m x");
    assertThat(unknown.message().length()).isLessThan(400);
  }

  /**
   * Found by the property tests: Jackson decodes the overlong C0 AF as '/', so the line passed with
   * a custom_id its bytes do not hold. Surrogates and values past U+10FFFF likewise.
   */
  @ParameterizedTest
  @ValueSource(strings = {"c0af", "e080af", "eda080", "f4908080", "c3"})
  void aLineThatIsNotWellFormedUtf8IsInvalid(String hex) {
    byte[] head = "{\"custom_id\":\"r-".getBytes(StandardCharsets.UTF_8);
    byte[] bad = java.util.HexFormat.of().parseHex(hex);
    byte[] tail =
        ("\",\"method\":\"POST\",\"url\":\"" + CHAT + "\",\"body\":" + CHAT_BODY + "}")
            .getBytes(StandardCharsets.UTF_8);
    byte[] line = new byte[head.length + bad.length + tail.length];
    System.arraycopy(head, 0, line, 0, head.length);
    System.arraycopy(bad, 0, line, head.length, bad.length);
    System.arraycopy(tail, 0, line, head.length + bad.length, tail.length);
    LineValidator validator =
        new LineValidator(JSON, CHAT, Set.of("m1")::contains, 16, BatchSettings.Limits.defaults());

    BatchError error = errorOf(validator.check(line, line.length, 6));

    assertThat(error.code()).isEqualTo("invalid_json_line");
    assertThat(error.message()).contains("UTF-8").contains("byte " + (head.length + 1));
    assertThat(error.line()).isEqualTo(6);
  }

  @Test
  void wellFormedMultiByteTextIsAccepted() {
    String text =
        chatLine(
            "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":\"\u00e9\u20ac\ud83d\ude00\"}]}");

    assertThat(check(CHAT, text, 1).error()).isNull();
  }
}
