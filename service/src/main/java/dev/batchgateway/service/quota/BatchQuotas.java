package dev.batchgateway.service.quota;

import dev.batchgateway.service.errors.ApiException;
import java.util.Locale;

/**
 * The batch quotas' rule and their refusals. A new batch counts as one more unfinished batch and
 * adds its input file's requests to the tenant's queued ones; a limit of 0 is none. Exactly up to a
 * limit is allowed.
 */
public final class BatchQuotas {
  private BatchQuotas() {}

  /** What a tenant has going: its unfinished batches and the requests in them. */
  public record Load(long activeBatches, long queuedRequests) {}

  /**
   * The quota a new batch of {@code newRequests} would pass, active batches first; null when it
   * passes none.
   */
  public static Quota passed(Load load, long newRequests, long maxActive, long maxQueued) {
    if (maxActive > 0 && load.activeBatches() + 1 > maxActive) {
      return Quota.ACTIVE_BATCHES;
    }
    if (maxQueued > 0 && load.queuedRequests() + newRequests > maxQueued) {
      return Quota.QUEUED_REQUESTS;
    }
    return null;
  }

  /**
   * The 429 for a create refused by {@code quota}. Clients are told not to retry on their own: room
   * comes back when a batch ends, which may take hours, not the seconds a client would wait.
   */
  public static ApiException refusal(
      String tenant, Quota quota, Load load, long newRequests, long maxActive, long maxQueued) {
    return switch (quota) {
      case ACTIVE_BATCHES ->
          new ApiException(
              429,
              "rate_limit_error",
              String.format(
                  Locale.ROOT,
                  "Tenant '%s' has %,d unfinished batches, the most its quota allows"
                      + " (maxActiveBatches %,d). Wait for one to finish or cancel one, then"
                      + " create this batch again.",
                  tenant,
                  load.activeBatches(),
                  maxActive),
              null,
              "active_batch_limit_exceeded",
              false);
      case QUEUED_REQUESTS ->
          new ApiException(
              429,
              "rate_limit_error",
              newRequests > maxQueued
                  ? String.format(
                      Locale.ROOT,
                      "This batch has %,d requests, more than tenant '%s' may queue at once"
                          + " (maxQueuedRequests %,d). Split the input file into smaller"
                          + " batches.",
                      newRequests,
                      tenant,
                      maxQueued)
                  : String.format(
                      Locale.ROOT,
                      "Tenant '%s' has %,d requests in unfinished batches and this batch adds"
                          + " %,d; its quota is %,d queued requests (maxQueuedRequests). Wait for"
                          + " a batch to finish or cancel one, then create this batch again.",
                      tenant,
                      load.queuedRequests(),
                      newRequests,
                      maxQueued),
              "input_file_id",
              "queued_request_limit_exceeded",
              false);
      case REQUESTS_PER_SECOND ->
          throw new IllegalArgumentException("The API rate is not a batch quota");
    };
  }
}
