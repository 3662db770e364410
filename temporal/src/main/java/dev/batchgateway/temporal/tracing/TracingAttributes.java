package dev.batchgateway.temporal.tracing;

import io.opentelemetry.api.common.AttributeKey;

/** The attributes the Temporal spans carry. */
final class TracingAttributes {
  private TracingAttributes() {}

  static final AttributeKey<String> WORKFLOW_ID = AttributeKey.stringKey("temporal.workflow.id");
  static final AttributeKey<String> WORKFLOW_TYPE =
      AttributeKey.stringKey("temporal.workflow.type");
  static final AttributeKey<String> RUN_ID = AttributeKey.stringKey("temporal.run.id");
  static final AttributeKey<String> ACTIVITY_ID = AttributeKey.stringKey("temporal.activity.id");
  static final AttributeKey<String> ACTIVITY_TYPE =
      AttributeKey.stringKey("temporal.activity.type");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("temporal.attempt");
  static final AttributeKey<String> TASK_QUEUE = AttributeKey.stringKey("temporal.task_queue");
}
