package dev.batchgateway.service.resources;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.service.BatchLimits;
import dev.batchgateway.service.errors.ApiException;
import java.util.Iterator;
import java.util.Map;

/** Checks of the optional fields of a batch request, each failing with the field as param. */
final class RequestChecks {
  private static final int MAX_METADATA_PAIRS = 16;
  private static final int MAX_KEY_CHARS = 64;
  private static final int MAX_VALUE_CHARS = 512;

  private RequestChecks() {}

  /** Returns the metadata as JSON text, or null when absent. */
  static String metadata(ObjectMapper json, JsonNode metadata) {
    if (metadata == null || metadata.isNull()) {
      return null;
    }
    if (!metadata.isObject()) {
      throw ApiException.badRequest("'metadata' must be an object of string pairs.", "metadata");
    }
    if (metadata.size() > MAX_METADATA_PAIRS) {
      throw ApiException.badRequest(
          "'metadata' may hold at most " + MAX_METADATA_PAIRS + " pairs.", "metadata");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = metadata.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      if (entry.getKey().length() > MAX_KEY_CHARS) {
        throw ApiException.badRequest(
            "Metadata keys may be at most " + MAX_KEY_CHARS + " characters.", "metadata");
      }
      if (!entry.getValue().isTextual()) {
        throw ApiException.badRequest(
            "Metadata values must be strings.", "metadata." + entry.getKey());
      }
      if (entry.getValue().asText().length() > MAX_VALUE_CHARS) {
        throw ApiException.badRequest(
            "Metadata values may be at most " + MAX_VALUE_CHARS + " characters.",
            "metadata." + entry.getKey());
      }
    }
    try {
      return json.writeValueAsString(metadata);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("A parsed JSON object always serializes", e);
    }
  }

  /** Returns the number of seconds, or null when absent. */
  static Long outputExpiresAfter(JsonNode value) {
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isObject()) {
      throw ApiException.badRequest(
          "'output_expires_after' must be an object with 'anchor' and 'seconds'.",
          "output_expires_after");
    }
    if (!"created_at".equals(value.path("anchor").asText(null))) {
      throw ApiException.badRequest(
          "output_expires_after.anchor must be 'created_at'.", "output_expires_after.anchor");
    }
    JsonNode seconds = value.get("seconds");
    if (seconds == null
        || !seconds.canConvertToLong()
        || !seconds.isIntegralNumber()
        || seconds.asLong() < 3600
        || seconds.asLong() > 2_592_000) {
      throw ApiException.badRequest(
          "output_expires_after.seconds must be an integer between 3600 and 2592000.",
          "output_expires_after.seconds");
    }
    return seconds.asLong();
  }

  /**
   * The priority asked for, clamped to the configured range. Above the tenant's own maximum it is
   * refused rather than lowered, so that a caller never believes it got a priority it did not.
   */
  static int priority(JsonNode value, BatchLimits limits, String tenant) {
    if (value == null || value.isNull()) {
      return Math.max(limits.getMinPriority(), Math.min(limits.getMaxPriority(), 0));
    }
    if (!value.isIntegralNumber()) {
      throw ApiException.badRequest("'priority' must be an integer.", "priority");
    }
    long asked =
        value.canConvertToLong()
            ? value.asLong()
            : value.bigIntegerValue().signum() > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
    Integer tenantMax = limits.getTenantMaxPriority().get(tenant);
    if (tenantMax != null && asked > tenantMax) {
      throw ApiException.badRequest(
          "Invalid value for 'priority': this organization may use at most " + tenantMax + ".",
          "priority",
          "invalid_value");
    }
    return (int) Math.max(limits.getMinPriority(), Math.min(limits.getMaxPriority(), asked));
  }

  static boolean flag(JsonNode value, boolean fallback) {
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isBoolean()) {
      throw ApiException.badRequest("'sort_by_prefix' must be true or false.", "sort_by_prefix");
    }
    return value.asBoolean();
  }
}
