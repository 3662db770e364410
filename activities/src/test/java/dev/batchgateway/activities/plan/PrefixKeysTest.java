package dev.batchgateway.activities.plan;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class PrefixKeysTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "/v1/chat/completions";

  private static JsonNode body(String text) throws Exception {
    return JSON.readTree(text);
  }

  private static long chatKey(String system, String user) throws Exception {
    String messages =
        system == null
            ? "[{\"role\":\"user\",\"content\":\"" + user + "\"}]"
            : "[{\"role\":\"system\",\"content\":\""
                + system
                + "\"},{\"role\":\"user\",\"content\":\""
                + user
                + "\"}]";
    return PrefixKeys.of(CHAT, body("{\"model\":\"m\",\"messages\":" + messages + "}"), 256);
  }

  @Test
  void theSameSystemPromptGivesTheSameKey() throws Exception {
    assertThat(chatKey("You translate to French.", "hello"))
        .isEqualTo(chatKey("You translate to French.", "hello"))
        .isNotZero();
  }

  @Test
  void aDifferentSystemPromptGivesADifferentKey() throws Exception {
    assertThat(chatKey("You translate to French.", "hello"))
        .isNotEqualTo(chatKey("You translate to German.", "hello"));
  }

  @Test
  void theUserMessageDoesNotChangeTheKey() throws Exception {
    assertThat(chatKey("You translate to French.", "hello"))
        .isEqualTo(chatKey("You translate to French.", "a completely different question"));
  }

  @Test
  void aChatWithoutSystemPromptHasNoPrefix() throws Exception {
    assertThat(chatKey(null, "hello")).isZero();
  }

  @Test
  void developerMessagesArePartOfThePrefix() throws Exception {
    String first =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"Rule A\"},"
            + "{\"role\":\"user\",\"content\":\"x\"}]}";
    String second =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"Rule B\"},"
            + "{\"role\":\"user\",\"content\":\"x\"}]}";

    assertThat(PrefixKeys.of(CHAT, body(first), 256))
        .isNotZero()
        .isNotEqualTo(PrefixKeys.of(CHAT, body(second), 256));
  }

  @Test
  void embeddingsAndModerationsHaveNoPrefix() throws Exception {
    JsonNode embedding = body("{\"model\":\"e\",\"input\":\"some text to embed\"}");

    assertThat(PrefixKeys.of("/v1/embeddings", embedding, 256)).isZero();
    assertThat(PrefixKeys.of("/v1/moderations", embedding, 256)).isZero();
  }

  @Test
  void completionsUseOnlyTheFirstCharactersOfThePrompt() throws Exception {
    JsonNode a = body("{\"model\":\"m\",\"prompt\":\"0123456789 then the first question\"}");
    JsonNode b = body("{\"model\":\"m\",\"prompt\":\"0123456789 and another question\"}");
    JsonNode c = body("{\"model\":\"m\",\"prompt\":\"012345678X then the first question\"}");

    assertThat(PrefixKeys.of("/v1/completions", a, 10))
        .isNotZero()
        .isEqualTo(PrefixKeys.of("/v1/completions", b, 10));
    assertThat(PrefixKeys.of("/v1/completions", a, 10))
        .isNotEqualTo(PrefixKeys.of("/v1/completions", c, 10));
    assertThat(PrefixKeys.of("/v1/completions", a, 20))
        .isNotEqualTo(PrefixKeys.of("/v1/completions", b, 20));
  }

  @Test
  void completionsWithAPromptListUseTheFirstPrompt() throws Exception {
    JsonNode list = body("{\"model\":\"m\",\"prompt\":[\"0123456789 first\",\"other\"]}");
    JsonNode single = body("{\"model\":\"m\",\"prompt\":\"0123456789 second\"}");

    assertThat(PrefixKeys.of("/v1/completions", list, 10))
        .isNotZero()
        .isEqualTo(PrefixKeys.of("/v1/completions", single, 10));
  }

  @Test
  void responsesUseTheInstructions() throws Exception {
    JsonNode a = body("{\"model\":\"m\",\"instructions\":\"Answer in haiku.\",\"input\":\"cats\"}");
    JsonNode b = body("{\"model\":\"m\",\"instructions\":\"Answer in haiku.\",\"input\":\"dogs\"}");
    JsonNode c = body("{\"model\":\"m\",\"instructions\":\"Answer in prose.\",\"input\":\"cats\"}");
    JsonNode none = body("{\"model\":\"m\",\"input\":\"cats\"}");

    assertThat(PrefixKeys.of("/v1/responses", a, 256))
        .isNotZero()
        .isEqualTo(PrefixKeys.of("/v1/responses", b, 256))
        .isNotEqualTo(PrefixKeys.of("/v1/responses", c, 256));
    assertThat(PrefixKeys.of("/v1/responses", none, 256)).isZero();
  }

  @Test
  void responsesInputMessagesAddTheirLeadingSystemPrompt() throws Exception {
    JsonNode a =
        body(
            "{\"model\":\"m\",\"input\":[{\"role\":\"system\",\"content\":\"S1\"},"
                + "{\"role\":\"user\",\"content\":\"q1\"}]}");
    JsonNode b =
        body(
            "{\"model\":\"m\",\"input\":[{\"role\":\"system\",\"content\":\"S1\"},"
                + "{\"role\":\"user\",\"content\":\"q2\"}]}");
    JsonNode c =
        body(
            "{\"model\":\"m\",\"input\":[{\"role\":\"system\",\"content\":\"S2\"},"
                + "{\"role\":\"user\",\"content\":\"q1\"}]}");

    assertThat(PrefixKeys.of("/v1/responses", a, 256))
        .isNotZero()
        .isEqualTo(PrefixKeys.of("/v1/responses", b, 256))
        .isNotEqualTo(PrefixKeys.of("/v1/responses", c, 256));
  }
}
