package dev.batchgateway.activities.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class UsageTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Usage of(String body) throws Exception {
    return Usage.fromResponseBody(JSON.readTree(body));
  }

  @Test
  void chatUsageWithDetails() throws Exception {
    Usage usage =
        of(
            "{\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":120,"
                + "\"completion_tokens\":30,\"total_tokens\":150,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":64},"
                + "\"completion_tokens_details\":{\"reasoning_tokens\":12}}}");

    assertThat(usage).isEqualTo(new Usage(120, 64, 30, 12, 150));
  }

  @Test
  void chatUsageWithoutTotalAddsInputAndOutput() throws Exception {
    assertThat(of("{\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}"))
        .isEqualTo(new Usage(7, 0, 3, 0, 10));
  }

  @Test
  void responsesUsageWithDetails() throws Exception {
    Usage usage =
        of(
            "{\"object\":\"response\",\"usage\":{\"input_tokens\":200,"
                + "\"input_tokens_details\":{\"cached_tokens\":128},\"output_tokens\":80,"
                + "\"output_tokens_details\":{\"reasoning_tokens\":40},\"total_tokens\":280}}");

    assertThat(usage).isEqualTo(new Usage(200, 128, 80, 40, 280));
  }

  @Test
  void embeddingsUsageHasOnlyPromptTokens() throws Exception {
    Usage usage =
        of(
            "{\"object\":\"list\",\"data\":[],\"model\":\"e\","
                + "\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}");

    assertThat(usage).isEqualTo(new Usage(8, 0, 0, 0, 8));
  }

  @Test
  void aBodyWithoutUsageCountsNothing() throws Exception {
    assertThat(of("{\"object\":\"chat.completion\",\"choices\":[]}")).isEqualTo(Usage.ZERO);
    assertThat(of("{\"usage\":null}")).isEqualTo(Usage.ZERO);
    assertThat(of("{\"usage\":42}")).isEqualTo(Usage.ZERO);
    assertThat(Usage.fromResponseBody(null)).isEqualTo(Usage.ZERO);
  }

  @Test
  void plusAddsEveryField() {
    assertThat(new Usage(1, 2, 3, 4, 5).plus(new Usage(10, 20, 30, 40, 50)))
        .isEqualTo(new Usage(11, 22, 33, 44, 55));
  }
}
