package dev.batchgateway.activities.plan;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The prefix key of a request: a hash of the part of its prompt that other requests are likely to
 * share, so that the engine's prefix cache can serve them one after another.
 */
public final class PrefixKeys {
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  private PrefixKeys() {}

  /** Returns 0 when the request has no shareable prefix (embeddings, moderations). */
  public static long of(String endpoint, JsonNode body, int completionPrefixChars) {
    return switch (endpoint) {
      case "/v1/chat/completions" -> leadingInstructions(body.get("messages"), FNV_OFFSET);
      case "/v1/responses" -> {
        long hash = FNV_OFFSET;
        JsonNode instructions = body.get("instructions");
        if (instructions != null && !instructions.isNull()) {
          hash = fnv(hash, instructions.toString());
        }
        JsonNode input = body.get("input");
        yield input != null && input.isArray() ? leadingInstructions(input, hash) : finish(hash);
      }
      case "/v1/completions" -> {
        JsonNode prompt = body.get("prompt");
        if (prompt != null && prompt.isArray() && !prompt.isEmpty()) {
          prompt = prompt.get(0);
        }
        if (prompt == null || !prompt.isTextual()) {
          yield 0;
        }
        String text = prompt.asText();
        yield finish(
            fnv(FNV_OFFSET, text.substring(0, Math.min(text.length(), completionPrefixChars))));
      }
      default -> 0;
    };
  }

  /** Hashes the leading system and developer messages, the part every request of a task repeats. */
  private static long leadingInstructions(JsonNode messages, long seed) {
    long hash = seed;
    if (messages != null && messages.isArray()) {
      for (JsonNode message : messages) {
        String role = message.path("role").asText("");
        if (!role.equals("system") && !role.equals("developer")) {
          break;
        }
        hash = fnv(hash, role);
        hash = fnv(hash, message.path("content").toString());
      }
    }
    return finish(hash);
  }

  private static long finish(long hash) {
    return hash == FNV_OFFSET ? 0 : hash;
  }

  private static long fnv(long hash, String text) {
    for (int i = 0; i < text.length(); i++) {
      hash ^= text.charAt(i);
      hash *= FNV_PRIME;
    }
    return hash;
  }
}
