package dev.batchgateway.activities.chunk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.model.Usage;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AnsweredLineTest {
  private static final ObjectMapper JSON = AnsweredLine.parserFor(new ObjectMapper(), 1 << 20);

  private static AnsweredLine of(String body) {
    return AnsweredLine.of(JSON, "r-\"1\"", 200, "req-1", body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void theBodyIsCopiedAsOneLineWithItsUsage() throws Exception {
    String body =
        "{\n  \"object\": \"list\",\r\n  \"data\": [{\"embedding\": [0.5, -1e-3]}],\n"
            + "  \"note\": \"a\\nb\",\n"
            + "  \"usage\": {\"prompt_tokens\": 7, \"total_tokens\": 7}\n}\n";

    AnsweredLine answered = of(body);

    String line = new String(answered.line(), StandardCharsets.UTF_8);
    assertThat(line).doesNotContain("\n").doesNotContain("\r");
    JsonNode parsed = JSON.readTree(line);
    assertThat(parsed.fieldNames())
        .toIterable()
        .containsExactly("id", "custom_id", "response", "error");
    assertThat(parsed.get("custom_id").asText()).isEqualTo("r-\"1\"");
    assertThat(parsed.at("/response/status_code").asInt()).isEqualTo(200);
    assertThat(parsed.at("/response/request_id").asText()).isEqualTo("req-1");
    assertThat(parsed.at("/response/body")).isEqualTo(JSON.readTree(body));
    assertThat(parsed.get("error").isNull()).isTrue();
    assertThat(answered.usage()).isEqualTo(new Usage(7, 0, 0, 0, 7));
    assertThat(AnsweredLine.usageOfLine(JSON, line)).isEqualTo(new Usage(7, 0, 0, 0, 7));
  }

  @Test
  void aBodyThatIsNotOneJsonContainerIsRefused() {
    assertThat(of("plain text")).isNull();
    assertThat(of("42")).isNull();
    assertThat(of("{\"a\":1} trailing")).isNull();
    assertThat(of("{\"a\":")).isNull();
    assertThat(of("[1,2]")).isNotNull();
  }
}
