package dev.batchgateway.workflows;

import io.temporal.common.SearchAttributeKey;
import java.time.OffsetDateTime;
import java.util.List;

/** Custom search attributes that let an operator find batches in the Temporal UI. */
public final class BatchSearchAttributes {
  public static final SearchAttributeKey<String> STATUS =
      SearchAttributeKey.forKeyword("BatchStatus");
  public static final SearchAttributeKey<String> TENANT =
      SearchAttributeKey.forKeyword("BatchTenant");
  public static final SearchAttributeKey<String> MODEL =
      SearchAttributeKey.forKeyword("BatchModel");
  public static final SearchAttributeKey<Long> PRIORITY =
      SearchAttributeKey.forLong("BatchPriority");

  /** The end of the completion window. */
  public static final SearchAttributeKey<OffsetDateTime> DEADLINE =
      SearchAttributeKey.forOffsetDateTime("BatchDeadline");

  /** Requests in the batch, known once it is planned. */
  public static final SearchAttributeKey<Long> REQUESTS_TOTAL =
      SearchAttributeKey.forLong("BatchRequestsTotal");

  /** Requests of finished chunks, updated as each chunk ends. */
  public static final SearchAttributeKey<Long> REQUESTS_DONE =
      SearchAttributeKey.forLong("BatchRequestsDone");

  /** Every key, for registering them with a Temporal namespace. */
  public static final List<SearchAttributeKey<?>> ALL =
      List.of(STATUS, TENANT, MODEL, PRIORITY, DEADLINE, REQUESTS_TOTAL, REQUESTS_DONE);

  private BatchSearchAttributes() {}
}
