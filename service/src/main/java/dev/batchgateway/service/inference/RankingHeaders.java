package dev.batchgateway.service.inference;

import dev.batchgateway.activities.port.RequestContext;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Works out the llm-d ranking headers of one request from its batch, at the moment it is sent: the
 * time left to the deadline shrinks between attempts, so it is never computed ahead.
 */
final class RankingHeaders {
  private final HeaderSettings settings;

  RankingHeaders(HeaderSettings settings) {
    this.settings = settings;
  }

  Map<String, String> of(RequestContext context, long nowMillis) {
    Map<String, String> headers = new LinkedHashMap<>();
    HeaderSettings.Objective objective = settings.getObjective();
    if (objective.isEnabled()) {
      String value = objective.getValue();
      if (objective.isBatchOverride()) {
        String own = context.batchMetadata().get(objective.getMetadataKey());
        if (own != null && !own.isBlank() && isHeaderValue(own)) {
          value = own;
        }
      }
      if (value != null && !value.isBlank()) {
        headers.put(objective.nameOr(HeaderSettings.OBJECTIVE), value.strip());
      }
    }
    HeaderSettings.Header fairness = settings.getFairnessId();
    if (fairness.isEnabled() && context.tenant() != null) {
      headers.put(fairness.nameOr(HeaderSettings.FAIRNESS_ID), context.tenant());
    }
    HeaderSettings.Header slo = settings.getSloTtft();
    if (slo.isEnabled() && context.deadlineEpochSeconds() > 0) {
      long deadline = context.deadlineEpochSeconds();
      long deadlineMillis = deadline > Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : deadline * 1000;
      long left = Math.max(0, deadlineMillis - nowMillis);
      headers.put(slo.nameOr(HeaderSettings.SLO_TTFT), Long.toString(left));
    }
    return headers;
  }

  /** Printable ASCII only: a batch's metadata must not be able to break the request's headers. */
  private static boolean isHeaderValue(String value) {
    return value.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
  }
}
