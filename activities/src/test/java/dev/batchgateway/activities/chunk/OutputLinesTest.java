package dev.batchgateway.activities.chunk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class OutputLinesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BODY =
      "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\","
          + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}]}";

  private static String text(byte[] line) {
    return new String(line, StandardCharsets.UTF_8);
  }

  private static List<String> keys(JsonNode node) {
    List<String> keys = new ArrayList<>();
    node.fieldNames().forEachRemaining(keys::add);
    return keys;
  }

  private static void assertKeyOrder(String raw) {
    int id = raw.indexOf("\"id\":\"batch_req_");
    int customId = raw.indexOf("\"custom_id\":");
    int response = raw.indexOf("\"response\":");
    int error = raw.lastIndexOf("\"error\":");
    assertThat(raw).startsWith("{\"id\":\"batch_req_");
    assertThat(id).isEqualTo(1);
    assertThat(customId).isGreaterThan(id);
    assertThat(response).isGreaterThan(customId);
    assertThat(error).isGreaterThan(response);
  }

  @Test
  void anAnsweredLineHasTheKeysInOpenAiOrder() throws Exception {
    String raw = text(OutputLines.answered("r-1", 200, "req-abc", tree(BODY)));

    assertKeyOrder(raw);
    assertThat(raw).endsWith(",\"error\":null}");
    JsonNode node = JSON.readTree(raw);
    assertThat(keys(node)).containsExactly("id", "custom_id", "response", "error");
    assertThat(keys(node.get("response"))).containsExactly("status_code", "request_id", "body");
  }

  @Test
  void anAnsweredLineCarriesStatusRequestIdAndTheBodyUnchanged() throws Exception {
    JsonNode node = JSON.readTree(OutputLines.answered("r-1", 201, "req-abc", tree(BODY)));

    assertThat(node.get("id").asText()).startsWith("batch_req_");
    assertThat(node.get("custom_id").asText()).isEqualTo("r-1");
    assertThat(node.at("/response/status_code").asInt()).isEqualTo(201);
    assertThat(node.at("/response/request_id").asText()).isEqualTo("req-abc");
    assertThat(node.at("/response/body")).isEqualTo(JSON.readTree(BODY));
    assertThat(node.get("error").isNull()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(OutputLines.NoAnswer.class)
  void anUnansweredLineHasANullResponseAndTheErrorCode(OutputLines.NoAnswer reason)
      throws Exception {
    String raw = text(OutputLines.unanswered("r-2", reason, null));

    assertKeyOrder(raw);
    JsonNode node = JSON.readTree(raw);
    assertThat(keys(node)).containsExactly("id", "custom_id", "response", "error");
    assertThat(node.get("response").isNull()).isTrue();
    assertThat(node.at("/error/code").asText()).isEqualTo(reason.code());
    assertThat(node.at("/error/message").asText()).isEqualTo(reason.message());
  }

  @Test
  void theErrorCodesAreTheContractsCodes() {
    assertThat(OutputLines.NoAnswer.BATCH_EXPIRED.code()).isEqualTo("batch_expired");
    assertThat(OutputLines.NoAnswer.BATCH_EXPIRED.message())
        .isEqualTo("This request could not be executed before the completion window expired.");
    assertThat(OutputLines.NoAnswer.BATCH_CANCELLED.code()).isEqualTo("batch_cancelled");
    assertThat(OutputLines.NoAnswer.REQUEST_TIMEOUT.code()).isEqualTo("request_timeout");
    assertThat(OutputLines.NoAnswer.BATCH_FAILED.code()).isEqualTo("batch_failed");
  }

  @Test
  void aDetailIsAppendedToTheMessage() throws Exception {
    JsonNode node =
        JSON.readTree(
            OutputLines.unanswered("r-3", OutputLines.NoAnswer.BATCH_FAILED, "Connection refused"));

    assertThat(node.at("/error/message").asText())
        .startsWith(OutputLines.NoAnswer.BATCH_FAILED.message())
        .endsWith("Connection refused");
  }

  @Test
  void customIdsAreEscaped() throws Exception {
    String customId = "a \"quoted\"\nid\t\\";

    byte[] line = OutputLines.unanswered(customId, OutputLines.NoAnswer.BATCH_CANCELLED, null);

    assertThat(text(line)).doesNotContain("\n");
    assertThat(JSON.readTree(line).get("custom_id").asText()).isEqualTo(customId);
  }

  @Test
  void eachLineGetsItsOwnRequestId() throws Exception {
    String first =
        JSON.readTree(OutputLines.answered("r", 200, "q", tree(BODY))).get("id").asText();
    String second =
        JSON.readTree(OutputLines.answered("r", 200, "q", tree(BODY))).get("id").asText();

    assertThat(first).isNotEqualTo(second);
  }

  @Test
  void errorBodiesUseTheOpenAiEnvelope() throws Exception {
    JsonNode server = (OutputLines.errorBody(502, "Bad Gateway \"upstream\""));
    JsonNode client = (OutputLines.errorBody(404, "Not Found"));

    assertThat(keys(server)).containsExactly("error");
    assertThat(keys(server.get("error"))).containsExactly("message", "type", "param", "code");
    assertThat(server.at("/error/message").asText()).isEqualTo("Bad Gateway \"upstream\"");
    assertThat(server.at("/error/type").asText()).isEqualTo("server_error");
    assertThat(server.at("/error/param").isNull()).isTrue();
    assertThat(server.at("/error/code").isNull()).isTrue();
    assertThat(client.at("/error/type").asText()).isEqualTo("invalid_request_error");
  }

  private static com.fasterxml.jackson.databind.JsonNode tree(String json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
