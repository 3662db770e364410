package dev.batchgateway.activities.port;

import java.util.Map;

/**
 * What the batch a request belongs to says about it, so the inference client can add the traffic
 * ranking headers its pool asks for (llm-d's objective, fairness id and time-to-deadline).
 *
 * @param tenant who owns the batch; null when unknown
 * @param batchId the batch; null when unknown
 * @param deadlineEpochSeconds the end of the batch's completion window; 0 when unknown
 * @param batchMetadata the batch's OpenAI {@code metadata}; empty when it has none
 */
public record RequestContext(
    String tenant, String batchId, long deadlineEpochSeconds, Map<String, String> batchMetadata) {
  public static final RequestContext NONE = new RequestContext(null, null, 0, Map.of());

  public RequestContext {
    batchMetadata = batchMetadata == null ? Map.of() : Map.copyOf(batchMetadata);
  }
}
