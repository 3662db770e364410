package dev.batchgateway.activities.port;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.ContextKey;

/**
 * The span of the inference call being sent, current while {@link InferenceClient#send} runs, so
 * the client can record which endpoint took the call and hand its trace to the engine. Only an
 * inference call's own span is found here, never the span of the activity around it.
 */
public final class InferenceCallSpan {
  private static final ContextKey<Span> KEY = ContextKey.named("batch-gateway-inference-call");

  private InferenceCallSpan() {}

  /** {@code context} with {@code span} current, as the inference call's span. */
  public static Context with(Context context, Span span) {
    return context.with(span).with(KEY, span);
  }

  /** The current inference call's span; the invalid span when none (tracing off, say). */
  public static Span current() {
    Span span = Context.current().get(KEY);
    return span == null ? Span.getInvalid() : span;
  }
}
