package dev.batchgateway.workflows;

import io.temporal.common.SearchAttributeKey;
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

  /** Every key, for registering them with a Temporal namespace. */
  public static final List<SearchAttributeKey<?>> ALL = List.of(STATUS, TENANT, MODEL, PRIORITY);

  private BatchSearchAttributes() {}
}
