package dev.batchgateway.activities.chunk;

import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.workflows.ChunkTask;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import java.util.concurrent.CompletionException;

/**
 * The span of one inference call: {@code POST <path>}, a child of the chunk activity's span, from
 * the send to the answer (or the transport failure). Each attempt of a line is a span of its own.
 */
final class InferenceSpans {
  private InferenceSpans() {}

  static final AttributeKey<String> TENANT = AttributeKey.stringKey("batch_gateway.tenant");
  static final AttributeKey<String> BATCH_ID = AttributeKey.stringKey("batch_gateway.batch_id");
  static final AttributeKey<Long> CHUNK = AttributeKey.longKey("batch_gateway.chunk");
  static final AttributeKey<Long> LINE = AttributeKey.longKey("batch_gateway.line");
  static final AttributeKey<String> POOL = AttributeKey.stringKey("batch_gateway.pool");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("batch_gateway.attempt");
  static final AttributeKey<String> MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
  static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

  /**
   * Starts the span, or answers null when the chunk's trace is not recorded (sampled out): then the
   * call is not traced at all.
   *
   * @param line the line's index in its chunk
   * @param attempt 1 for the first send of the line
   */
  static Span start(
      Tracer tracer, ChunkTask task, String model, String pool, int line, int attempt) {
    if (!Span.current().getSpanContext().isSampled()) {
      return null;
    }
    return tracer
        .spanBuilder("POST " + task.endpoint())
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute(METHOD, "POST")
        .setAttribute(PATH, task.endpoint())
        .setAttribute(TENANT, task.tenant())
        .setAttribute(BATCH_ID, task.batchId())
        .setAttribute(CHUNK, (long) task.chunkIndex())
        .setAttribute(LINE, (long) line)
        .setAttribute(POOL, pool)
        .setAttribute(ATTEMPT, (long) attempt)
        .setAttribute(MODEL, model)
        .startSpan();
  }

  /** Ends the span with the answer's status, or the failure's type. */
  static void end(Span span, InferenceResponse response, Throwable error) {
    if (error != null) {
      Throwable cause = error instanceof CompletionException ? error.getCause() : error;
      span.setAttribute(ERROR_TYPE, (cause == null ? error : cause).getClass().getName());
      span.setStatus(StatusCode.ERROR);
    } else if (response != null) {
      span.setAttribute(STATUS, (long) response.statusCode());
      if (!response.isSuccess()) {
        span.setStatus(StatusCode.ERROR);
      }
    }
    span.end();
  }
}
