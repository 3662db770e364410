package dev.batchgateway.temporal.tracing;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.temporal.common.interceptors.WorkflowClientCallsInterceptor;
import io.temporal.common.interceptors.WorkflowClientCallsInterceptorBase;
import io.temporal.common.interceptors.WorkflowClientInterceptorBase;
import java.util.function.Supplier;

/**
 * Client side: a {@code StartWorkflow:<type>} span around starting a workflow and a {@code
 * SignalWorkflow:<signal>} span around signalling one, each a child of the caller's current span
 * (the API request's), with its context written into the call's header for the worker to continue.
 */
final class TracingClientInterceptor extends WorkflowClientInterceptorBase {
  private final Tracer tracer;
  private final TraceHeaders headers;

  TracingClientInterceptor(Tracer tracer, TraceHeaders headers) {
    this.tracer = tracer;
    this.headers = headers;
  }

  @Override
  public WorkflowClientCallsInterceptor workflowClientCallsInterceptor(
      WorkflowClientCallsInterceptor next) {
    return new WorkflowClientCallsInterceptorBase(next) {
      @Override
      public WorkflowStartOutput start(WorkflowStartInput input) {
        Span span =
            tracer
                .spanBuilder("StartWorkflow:" + input.getWorkflowType())
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(TracingAttributes.WORKFLOW_ID, input.getWorkflowId())
                .setAttribute(TracingAttributes.WORKFLOW_TYPE, input.getWorkflowType())
                .startSpan();
        return traced(span, input.getHeader(), () -> super.start(input));
      }

      @Override
      public WorkflowSignalOutput signal(WorkflowSignalInput input) {
        Span span =
            tracer
                .spanBuilder("SignalWorkflow:" + input.getSignalName())
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(
                    TracingAttributes.WORKFLOW_ID, input.getWorkflowExecution().getWorkflowId())
                .startSpan();
        return traced(span, input.getHeader(), () -> super.signal(input));
      }
    };
  }

  private <T> T traced(Span span, io.temporal.common.interceptors.Header header, Supplier<T> call) {
    Context context = Context.current().with(span);
    headers.inject(context, header);
    try (Scope ignored = context.makeCurrent()) {
      return call.get();
    } catch (RuntimeException e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR);
      throw e;
    } finally {
      span.end();
    }
  }
}
