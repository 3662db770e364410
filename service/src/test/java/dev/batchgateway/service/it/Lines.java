package dev.batchgateway.service.it;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Builders of batch input lines. */
final class Lines {
  private Lines() {}

  static String chat(String customId, String model, String system, String user, int maxTokens) {
    ObjectNode line = Api.JSON.createObjectNode();
    line.put("custom_id", customId);
    line.put("method", "POST");
    line.put("url", "/v1/chat/completions");
    ObjectNode body = line.putObject("body");
    body.put("model", model);
    var messages = body.putArray("messages");
    if (system != null) {
      messages.addObject().put("role", "system").put("content", system);
    }
    messages.addObject().put("role", "user").put("content", user);
    body.put("max_tokens", maxTokens);
    return line.toString();
  }

  /** {@code n} chat lines cycling through {@code prompts} system prompts. */
  static String chatFile(int n, int prompts, String model) {
    StringBuilder file = new StringBuilder();
    for (int i = 0; i < n; i++) {
      file.append(
              chat(
                  "req-" + i,
                  model,
                  "You are assistant number " + (i % prompts) + ".",
                  "Question " + i,
                  5))
          .append('\n');
    }
    return file.toString();
  }
}
