package dev.batchgateway.workflows;

import io.temporal.activity.ActivityOptions;
import io.temporal.common.Priority;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;

/**
 * Plan, run the chunks with bounded parallelism, finalize. Cancel and expiry stop the run at any
 * point; whatever finished stays in the output and the rest becomes error lines.
 */
public class BatchWorkflowImpl implements BatchWorkflow {
  private static final Logger log = Workflow.getLogger(BatchWorkflowImpl.class);

  /** Temporal priority keys run from 1 (first) to 5; ours are unbounded integers around 0. */
  private static final int TEMPORAL_DEFAULT_PRIORITY_KEY = 3;

  private enum StopReason {
    CANCEL,
    EXPIRE
  }

  private record RunningChunk(CancellationScope scope, Promise<ChunkOutcome> promise) {}

  /**
   * Version 1 moves lifecycle activities to {@link TaskQueues#LIFECYCLE} and, on a stop, cancels
   * the chunks before recording the stop. Both change the commands a workflow emits, so workflows
   * started before keep the old behaviour.
   */
  static final String LIFECYCLE_QUEUE_CHANGE = "lifecycle-queue-cancel-first";

  private BatchLifecycleActivities statusWriter;
  private BatchLifecycleActivities fileWork;
  private boolean cancelChunksFirst;

  private BatchInput input;
  private BatchStatus status = BatchStatus.VALIDATING;
  private StopReason stop;
  private boolean stopPersisted;
  private int priority;
  private boolean priorityDirty;
  private int chunksTotal;
  private int chunksDone;
  private long requestsDone;
  private final Map<Integer, RunningChunk> running = new LinkedHashMap<>();
  private final List<Integer> failedChunks = new ArrayList<>();

  @Override
  public BatchOutcome run(BatchInput input) {
    this.input = input;
    boolean lifecycleQueue =
        Workflow.getVersion(LIFECYCLE_QUEUE_CHANGE, Workflow.DEFAULT_VERSION, 1) >= 1;
    cancelChunksFirst = lifecycleQueue;
    ActivityOptions status = ActivityPolicies.status();
    ActivityOptions files = ActivityPolicies.fileWork();
    if (lifecycleQueue) {
      status = ActivityPolicies.onLifecycleQueue(status);
      files = ActivityPolicies.onLifecycleQueue(files);
    }
    statusWriter = Workflow.newActivityStub(BatchLifecycleActivities.class, status);
    fileWork = Workflow.newActivityStub(BatchLifecycleActivities.class, files);
    // A reprioritize signal can be delivered before run() starts; it wins over the initial value.
    if (!priorityDirty) {
      this.priority = input.priority();
    }
    startDeadlineTimer();

    PlanResult plan;
    try {
      plan = planUnlessFailed();
    } catch (ActivityFailure e) {
      log.error("Planning batch {} failed for good: {}", input.batchId(), e.getMessage());
      setStatus(BatchStatus.FAILED);
      return new BatchOutcome(BatchStatus.FAILED, RequestCounts.ZERO);
    }
    if (!plan.valid() && stop != null) {
      // Stopped while validating a file that turned out invalid: there is nothing to report.
      return finish(0, 0);
    }
    if (!plan.valid()) {
      setStatus(BatchStatus.FAILED);
      return new BatchOutcome(BatchStatus.FAILED, RequestCounts.ZERO);
    }
    Workflow.upsertTypedSearchAttributes(
        BatchSearchAttributes.REQUESTS_TOTAL.valueSet(plan.totalLines()),
        BatchSearchAttributes.REQUESTS_DONE.valueSet(0L));
    if (plan.model() != null) {
      Workflow.upsertTypedSearchAttributes(BatchSearchAttributes.MODEL.valueSet(plan.model()));
    }
    if (stop == null) {
      setStatus(BatchStatus.IN_PROGRESS);
      runChunks(plan.chunkCount());
    }
    return finish(plan.chunkCount(), plan.totalLines());
  }

  @Override
  public void cancel(CancelRequest request) {
    String reason = request == null ? null : request.reason();
    log.info("Cancel requested for batch {}: {}", input == null ? "?" : input.batchId(), reason);
    requestStop(StopReason.CANCEL);
  }

  @Override
  public void reprioritize(ReprioritizeRequest request) {
    // Before run() has started, priority is not yet the batch's: take the signal as is.
    if (request == null || (input != null && request.priority() == priority)) {
      return;
    }
    priority = request.priority();
    priorityDirty = true;
    Workflow.upsertTypedSearchAttributes(BatchSearchAttributes.PRIORITY.valueSet((long) priority));
  }

  @Override
  public BatchProgress progress() {
    return new BatchProgress(
        status,
        priority,
        chunksTotal,
        chunksDone,
        running.size(),
        failedChunks.size(),
        stop == null ? null : stop.name().toLowerCase(java.util.Locale.ROOT));
  }

  private void startDeadlineTimer() {
    long delayMillis = input.expiresAtEpochSeconds() * 1000 - Workflow.currentTimeMillis();
    if (delayMillis <= 0) {
      requestStop(StopReason.EXPIRE);
      return;
    }
    Workflow.newTimer(Duration.ofMillis(delayMillis))
        .thenApply(
            fired -> {
              requestStop(StopReason.EXPIRE);
              return fired;
            });
  }

  /** Finalizing is short and already writes the results, so a late stop no longer applies. */
  private void requestStop(StopReason reason) {
    if (stop == null && !status.isTerminal() && status != BatchStatus.FINALIZING) {
      stop = reason;
    }
  }

  /**
   * Plans the batch. A cancel or expiry arriving meanwhile is recorded at once but does not
   * interrupt planning, which is bounded by the file size: finishing it lets every line of the file
   * be reported as {@code batch_cancelled} or {@code batch_expired}.
   */
  private PlanResult planUnlessFailed() {
    Promise<PlanResult> plan =
        Async.function(
            fileWork::plan,
            new PlanRequest(
                input.batchId(),
                input.tenant(),
                input.endpoint(),
                input.inputFileId(),
                input.sortByPrefix()));
    Workflow.await(() -> plan.isCompleted() || stop != null);
    if (stop != null) {
      persistStop();
    }
    return plan.get();
  }

  private void runChunks(int chunkCount) {
    chunksTotal = chunkCount;
    Deque<Integer> pending = new ArrayDeque<>();
    for (int i = 0; i < chunkCount; i++) {
      pending.add(i);
    }
    int parallel = Math.max(1, input.parallelChunks());
    boolean cancelSent = false;
    while (true) {
      if (!cancelChunksFirst) {
        recordPriorityIfChanged();
      }
      if (stop != null && !cancelSent) {
        stopChunks(pending);
        cancelSent = true;
      }
      if (cancelChunksFirst) {
        recordPriorityIfChanged();
      }
      while (stop == null && running.size() < parallel && !pending.isEmpty()) {
        launchChunk(pending.poll());
      }
      if (running.isEmpty()) {
        return;
      }
      boolean waitingForStop = !cancelSent;
      Workflow.await(
          () ->
              (waitingForStop && stop != null)
                  || priorityDirty
                  || running.values().stream().anyMatch(chunk -> chunk.promise().isCompleted()));
      collectFinishedChunks();
    }
  }

  private void recordPriorityIfChanged() {
    if (priorityDirty) {
      priorityDirty = false;
      statusWriter.recordPriority(new PriorityChange(input.batchId(), input.tenant(), priority));
    }
  }

  /**
   * Cancels the running chunks and drops the pending ones. The status write blocks this workflow
   * until the database answers, so it comes after the cancel requests, which then reach the chunks
   * at once; older workflows wrote the status first.
   */
  private void stopChunks(Deque<Integer> pending) {
    if (!cancelChunksFirst) {
      persistStop();
    }
    pending.clear();
    running.values().forEach(chunk -> chunk.scope().cancel());
    if (cancelChunksFirst) {
      persistStop();
    }
  }

  private void launchChunk(int chunkIndex) {
    ChunkActivities chunks =
        Workflow.newActivityStub(
            ChunkActivities.class,
            ActivityOptions.newBuilder(
                    ActivityPolicies.chunk(
                        Duration.ofMillis(
                            input.expiresAtEpochSeconds() * 1000 - Workflow.currentTimeMillis())))
                .setPriority(
                    Priority.newBuilder().setPriorityKey(temporalPriorityKey(priority)).build())
                .build());
    ChunkTask task =
        new ChunkTask(
            input.batchId(),
            input.tenant(),
            input.endpoint(),
            chunkIndex,
            priority,
            input.expiresAtEpochSeconds());
    List<Promise<ChunkOutcome>> box = new ArrayList<>(1);
    CancellationScope scope =
        Workflow.newCancellationScope(() -> box.add(Async.function(chunks::runChunk, task)));
    scope.run();
    running.put(chunkIndex, new RunningChunk(scope, box.get(0)));
  }

  private void collectFinishedChunks() {
    Iterator<Map.Entry<Integer, RunningChunk>> it = running.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Integer, RunningChunk> entry = it.next();
      Promise<ChunkOutcome> promise = entry.getValue().promise();
      if (!promise.isCompleted()) {
        continue;
      }
      it.remove();
      try {
        ChunkOutcome outcome = promise.get();
        chunksDone++;
        requestsDone += outcome.completed() + outcome.failed();
        Workflow.upsertTypedSearchAttributes(
            BatchSearchAttributes.REQUESTS_DONE.valueSet(requestsDone));
      } catch (ActivityFailure e) {
        if (stop != null && e.getCause() instanceof CanceledFailure) {
          continue;
        }
        log.error(
            "Chunk {} of batch {} gave up: {}", entry.getKey(), input.batchId(), e.getMessage());
        failedChunks.add(entry.getKey());
      }
    }
  }

  private BatchOutcome finish(int chunkCount, long totalLines) {
    BatchStatus terminal =
        stop == StopReason.CANCEL
            ? BatchStatus.CANCELLED
            : stop == StopReason.EXPIRE ? BatchStatus.EXPIRED : BatchStatus.COMPLETED;
    if (stop != null) {
      persistStop();
    } else {
      setStatus(BatchStatus.FINALIZING);
    }
    FinalizeResult result =
        fileWork.finalizeBatch(
            new FinalizeRequest(
                input.batchId(),
                input.tenant(),
                chunkCount,
                totalLines,
                terminal,
                List.copyOf(failedChunks)));
    status = terminal;
    Workflow.upsertTypedSearchAttributes(
        BatchSearchAttributes.STATUS.valueSet(terminal.wire()),
        BatchSearchAttributes.REQUESTS_DONE.valueSet(
            result.counts().completed() + result.counts().failed()));
    Workflow.upsertMemo(
        Map.of(
            "request_counts",
            Map.of(
                "total", result.counts().total(),
                "completed", result.counts().completed(),
                "failed", result.counts().failed()),
            "output_file_id",
            String.valueOf(result.outputFileId()),
            "error_file_id",
            String.valueOf(result.errorFileId())));
    return new BatchOutcome(terminal, result.counts());
  }

  /** A cancel is shown as {@code cancelling} right away; an expiry has no intermediate status. */
  private void persistStop() {
    if (stopPersisted) {
      return;
    }
    stopPersisted = true;
    if (stop == StopReason.CANCEL) {
      setStatus(BatchStatus.CANCELLING);
    }
  }

  private void setStatus(BatchStatus next) {
    statusWriter.recordStatus(new StatusChange(input.batchId(), input.tenant(), next));
    status = next;
    Workflow.upsertTypedSearchAttributes(BatchSearchAttributes.STATUS.valueSet(next.wire()));
  }

  static int temporalPriorityKey(int priority) {
    return Math.max(1, Math.min(5, TEMPORAL_DEFAULT_PRIORITY_KEY - priority));
  }
}
