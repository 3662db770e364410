package dev.batchgateway.temporal.tracing;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.activity.ActivityInfo;
import io.temporal.common.interceptors.ActivityInboundCallsInterceptor;
import io.temporal.common.interceptors.ActivityInboundCallsInterceptorBase;
import io.temporal.common.interceptors.Header;
import io.temporal.common.interceptors.WorkerInterceptorBase;
import io.temporal.common.interceptors.WorkflowInboundCallsInterceptor;
import io.temporal.common.interceptors.WorkflowInboundCallsInterceptorBase;
import io.temporal.common.interceptors.WorkflowOutboundCallsInterceptor;
import io.temporal.common.interceptors.WorkflowOutboundCallsInterceptorBase;
import io.temporal.workflow.Workflow;
import io.temporal.workflow.WorkflowInfo;
import io.temporal.workflow.unsafe.WorkflowUnsafe;

/**
 * Worker side. A workflow run records a {@code RunWorkflow:<type>} span when it starts and a {@code
 * StartActivity:<name>} (or {@code StartChildWorkflow:<type>}) span each time it schedules work,
 * all children of the context its start carried; an activity records a {@code RunActivity:<type>}
 * span around its execution, current while it runs, so the spans its code makes (inference calls)
 * are its children.
 *
 * <p>Workflow code itself makes no tracing call. The workflow-side spans are made here, on the
 * workflow thread, as side effects that change no command the workflow sends; they are made only
 * while the workflow is not replaying, so a replay (after a cache eviction, or on another worker)
 * records nothing twice. Their parent is the context in the run's start header, which history
 * keeps, rather than the {@code RunWorkflow} span, whose id a replay could not reproduce: every
 * span a run makes hangs from the {@code StartWorkflow} span, in the same trace. A continued-as-new
 * run gets that same context, so a long batch stays one trace.
 */
final class TracingWorkerInterceptor extends WorkerInterceptorBase {
  private final Tracer tracer;
  private final TraceHeaders headers;

  TracingWorkerInterceptor(Tracer tracer, TraceHeaders headers) {
    this.tracer = tracer;
    this.headers = headers;
  }

  @Override
  public WorkflowInboundCallsInterceptor interceptWorkflow(WorkflowInboundCallsInterceptor next) {
    return new WorkflowInbound(next);
  }

  @Override
  public ActivityInboundCallsInterceptor interceptActivity(ActivityInboundCallsInterceptor next) {
    return new ActivityInbound(next);
  }

  private final class WorkflowInbound extends WorkflowInboundCallsInterceptorBase {
    /** The context the run's start header carried; the root until the run starts. */
    private Context parent = Context.root();

    WorkflowInbound(WorkflowInboundCallsInterceptor next) {
      super(next);
    }

    @Override
    public void init(WorkflowOutboundCallsInterceptor outbound) {
      super.init(new WorkflowOutbound(outbound, this));
    }

    @Override
    public WorkflowOutput execute(WorkflowInput input) {
      parent = headers.extract(input.getHeader());
      if (!WorkflowUnsafe.isReplaying()) {
        WorkflowInfo info = Workflow.getInfo();
        tracer
            .spanBuilder("RunWorkflow:" + info.getWorkflowType())
            .setParent(parent)
            .setSpanKind(SpanKind.SERVER)
            .setAttribute(TracingAttributes.WORKFLOW_ID, info.getWorkflowId())
            .setAttribute(TracingAttributes.WORKFLOW_TYPE, info.getWorkflowType())
            .setAttribute(TracingAttributes.RUN_ID, info.getRunId())
            .setAttribute(TracingAttributes.TASK_QUEUE, info.getTaskQueue())
            .setAttribute(TracingAttributes.ATTEMPT, (long) info.getAttempt())
            .startSpan()
            .end();
      }
      return super.execute(input);
    }
  }

  private final class WorkflowOutbound extends WorkflowOutboundCallsInterceptorBase {
    private final WorkflowInbound inbound;

    WorkflowOutbound(WorkflowOutboundCallsInterceptor next, WorkflowInbound inbound) {
      super(next);
      this.inbound = inbound;
    }

    @Override
    public <R> ActivityOutput<R> executeActivity(ActivityInput<R> input) {
      schedule(
          "StartActivity:" + input.getActivityName(), input.getActivityName(), input.getHeader());
      return super.executeActivity(input);
    }

    @Override
    public <R> LocalActivityOutput<R> executeLocalActivity(LocalActivityInput<R> input) {
      schedule(
          "StartActivity:" + input.getActivityName(), input.getActivityName(), input.getHeader());
      return super.executeLocalActivity(input);
    }

    @Override
    public <R> ChildWorkflowOutput<R> executeChildWorkflow(ChildWorkflowInput<R> input) {
      schedule("StartChildWorkflow:" + input.getWorkflowType(), null, input.getHeader());
      return super.executeChildWorkflow(input);
    }

    @Override
    public void continueAsNew(ContinueAsNewInput input) {
      headers.inject(inbound.parent, input.getHeader());
      super.continueAsNew(input);
    }

    /**
     * Records that the run scheduled work and writes the span into the work's header; while
     * replaying, the work was scheduled long ago (the header is not sent again): nothing.
     */
    private void schedule(String name, String activityType, Header header) {
      if (WorkflowUnsafe.isReplaying()) {
        return;
      }
      WorkflowInfo info = Workflow.getInfo();
      SpanBuilder builder =
          tracer
              .spanBuilder(name)
              .setParent(inbound.parent)
              .setSpanKind(SpanKind.CLIENT)
              .setAttribute(TracingAttributes.WORKFLOW_ID, info.getWorkflowId())
              .setAttribute(TracingAttributes.RUN_ID, info.getRunId());
      if (activityType != null) {
        builder.setAttribute(TracingAttributes.ACTIVITY_TYPE, activityType);
      }
      Span span = builder.startSpan();
      headers.inject(inbound.parent.with(span), header);
      span.end();
    }
  }

  private final class ActivityInbound extends ActivityInboundCallsInterceptorBase {
    private ActivityExecutionContext activity;

    ActivityInbound(ActivityInboundCallsInterceptor next) {
      super(next);
    }

    @Override
    public void init(ActivityExecutionContext context) {
      this.activity = context;
      super.init(context);
    }

    @Override
    public ActivityOutput execute(ActivityInput input) {
      ActivityInfo info = activity.getInfo();
      Span span =
          tracer
              .spanBuilder("RunActivity:" + info.getActivityType())
              .setParent(headers.extract(input.getHeader()))
              .setSpanKind(SpanKind.SERVER)
              .setAttribute(TracingAttributes.WORKFLOW_ID, info.getWorkflowId())
              .setAttribute(TracingAttributes.RUN_ID, info.getRunId())
              .setAttribute(TracingAttributes.ACTIVITY_ID, info.getActivityId())
              .setAttribute(TracingAttributes.ACTIVITY_TYPE, info.getActivityType())
              .setAttribute(TracingAttributes.TASK_QUEUE, info.getActivityTaskQueue())
              .setAttribute(TracingAttributes.ATTEMPT, (long) info.getAttempt())
              .startSpan();
      try (Scope ignored = span.makeCurrent()) {
        return super.execute(input);
      } catch (RuntimeException | Error e) {
        span.recordException(e);
        span.setStatus(StatusCode.ERROR);
        throw e;
      } finally {
        span.end();
      }
    }
  }
}
