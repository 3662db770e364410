package dev.batchgateway.activities.model;

import com.fasterxml.jackson.databind.JsonNode;

/** Token usage summed over successful responses, in the shape of the Batch {@code usage} field. */
public record Usage(
    long inputTokens,
    long cachedTokens,
    long outputTokens,
    long reasoningTokens,
    long totalTokens) {

  public static final Usage ZERO = new Usage(0, 0, 0, 0, 0);

  public Usage plus(Usage other) {
    return new Usage(
        inputTokens + other.inputTokens,
        cachedTokens + other.cachedTokens,
        outputTokens + other.outputTokens,
        reasoningTokens + other.reasoningTokens,
        totalTokens + other.totalTokens);
  }

  /**
   * Reads a response body's {@code usage}, whichever API produced it: chat and completions say
   * prompt/completion tokens, responses say input/output tokens, embeddings only prompt tokens.
   */
  public static Usage fromResponseBody(JsonNode body) {
    JsonNode usage = body == null ? null : body.get("usage");
    if (usage == null || !usage.isObject()) {
      return ZERO;
    }
    long input = first(usage, "prompt_tokens", "input_tokens");
    long output = first(usage, "completion_tokens", "output_tokens");
    long cached =
        Math.max(
            usage.path("prompt_tokens_details").path("cached_tokens").asLong(0),
            usage.path("input_tokens_details").path("cached_tokens").asLong(0));
    long reasoning =
        Math.max(
            usage.path("completion_tokens_details").path("reasoning_tokens").asLong(0),
            usage.path("output_tokens_details").path("reasoning_tokens").asLong(0));
    long total = usage.path("total_tokens").asLong(input + output);
    return new Usage(input, cached, output, reasoning, total);
  }

  private static long first(JsonNode usage, String name, String alternative) {
    JsonNode value = usage.get(name);
    return value != null && value.canConvertToLong()
        ? value.asLong()
        : usage.path(alternative).asLong(0);
  }
}
