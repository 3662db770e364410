package dev.batchgateway.service.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.batchgateway.service.model.BatchRecord;

/** Renders the OpenAI Batch object, every field present (null where unknown). */
public final class BatchJson {
  private BatchJson() {}

  public static ObjectNode render(ObjectMapper json, BatchRecord batch) {
    ObjectNode node = json.createObjectNode();
    node.put("id", batch.id());
    node.put("object", "batch");
    node.put("endpoint", batch.endpoint());
    node.put("model", batch.model());
    node.set("errors", errors(json, batch.errors()));
    node.put("input_file_id", batch.inputFileId());
    node.put("completion_window", batch.completionWindow());
    node.put("status", batch.status().wire());
    node.put("output_file_id", batch.outputFileId());
    node.put("error_file_id", batch.errorFileId());
    node.put("created_at", batch.createdAt());
    node.put("in_progress_at", batch.inProgressAt());
    node.put("expires_at", batch.expiresAt());
    node.put("finalizing_at", batch.finalizingAt());
    node.put("completed_at", batch.completedAt());
    node.put("failed_at", batch.failedAt());
    node.put("expired_at", batch.expiredAt());
    node.put("cancelling_at", batch.cancellingAt());
    node.put("cancelled_at", batch.cancelledAt());
    ObjectNode counts = node.putObject("request_counts");
    counts.put("total", batch.counts().total());
    counts.put("completed", batch.counts().completed());
    counts.put("failed", batch.counts().failed());
    ObjectNode usage = node.putObject("usage");
    usage.put("input_tokens", batch.usage().inputTokens());
    usage.putObject("input_tokens_details").put("cached_tokens", batch.usage().cachedTokens());
    usage.put("output_tokens", batch.usage().outputTokens());
    usage
        .putObject("output_tokens_details")
        .put("reasoning_tokens", batch.usage().reasoningTokens());
    usage.put("total_tokens", batch.usage().totalTokens());
    node.set("metadata", parse(json, batch.metadata()));
    node.put("priority", batch.priority());
    return node;
  }

  private static JsonNode errors(ObjectMapper json, String errors) {
    JsonNode data = parse(json, errors);
    if (data.isNull() || data.isEmpty()) {
      return json.nullNode();
    }
    ObjectNode list = json.createObjectNode();
    list.put("object", "list");
    ArrayNode entries = list.putArray("data");
    data.forEach(entries::add);
    return list;
  }

  private static JsonNode parse(ObjectMapper json, String text) {
    if (text == null) {
      return json.nullNode();
    }
    try {
      return json.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Stored JSON is unreadable", e);
    }
  }
}
