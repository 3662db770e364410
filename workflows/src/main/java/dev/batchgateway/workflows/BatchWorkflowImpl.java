package dev.batchgateway.workflows;

import io.temporal.activity.ActivityOptions;
import io.temporal.common.Priority;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.TimeoutFailure;
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

  /**
   * Version 1 makes every failure end the batch: a planning failure records its errors, a chunk
   * that gave up fails the batch, and a finalize that failed for good is salvaged or, failing that,
   * ended without files. Each adds commands older workflows did not emit.
   */
  static final String EVERY_BATCH_ENDS = "every-batch-ends";

  /**
   * Version 1 keeps the history of a batch bounded. A reprioritize only records the priority
   * wanted; the run loop applies the latest one (search attribute, batch row), so a burst of
   * changes costs one application. Past {@link #HISTORY_LIMIT} events the run cancels its running
   * chunks (they keep their checkpoints) and continues as new with {@link BatchResume}.
   */
  static final String BOUNDED_HISTORY = "bounded-history";

  /**
   * Version 1 lets a batch whose every request has its answer end {@code completed} even when its
   * window ran out before the chunks had reported back (a chunk saving its last segments, or the
   * last chunk completing in the same workflow task as the deadline timer): {@code expired} means
   * requests were left without an answer, and none were. Older workflows expired such a batch.
   */
  static final String ANSWERED_BATCH_COMPLETES = "answered-batch-completes";

  /** History events after which a running batch continues as new. */
  static final int HISTORY_LIMIT = 2_000;

  private BatchLifecycleActivities statusWriter;
  private BatchLifecycleActivities fileWork;
  private BatchLifecycleActivities salvage;
  private boolean cancelChunksFirst;
  private boolean everyBatchEnds;
  private boolean answeredBatchCompletes;

  /** Null until run() has read its version: a signal handled before then behaves as before. */
  private Boolean boundedHistory;

  /** The priority last recorded in the row and search attribute, with {@link #BOUNDED_HISTORY}. */
  private int appliedPriority;

  /** Set once the history is long: running chunks are cancelled and the run continues as new. */
  private boolean movingToNewRun;

  private final Deque<Integer> pending = new ArrayDeque<>();

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

  /**
   * Counts the batch's end by status, {@code batch_gateway_batches_ended_total{status}}, through
   * the workflow's metrics scope: the SDK reports it once, not again when the history is replayed,
   * and it adds no command to the history. A run that continues as new ends inside {@code runBatch}
   * and is not counted; its last run is.
   */
  @Override
  public BatchOutcome run(BatchInput input) {
    BatchOutcome outcome = runBatch(input);
    Workflow.getMetricsScope()
        .tagged(Map.of("status", outcome.status().wire()))
        .counter("batch_gateway_batches_ended")
        .inc(1);
    return outcome;
  }

  private BatchOutcome runBatch(BatchInput input) {
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
    everyBatchEnds = Workflow.getVersion(EVERY_BATCH_ENDS, Workflow.DEFAULT_VERSION, 1) >= 1;
    if (everyBatchEnds) {
      ActivityOptions salvageOptions = ActivityPolicies.salvage();
      if (lifecycleQueue) {
        salvageOptions = ActivityPolicies.onLifecycleQueue(salvageOptions);
      }
      salvage = Workflow.newActivityStub(BatchLifecycleActivities.class, salvageOptions);
    }
    boundedHistory = Workflow.getVersion(BOUNDED_HISTORY, Workflow.DEFAULT_VERSION, 1) >= 1;
    answeredBatchCompletes =
        Workflow.getVersion(ANSWERED_BATCH_COMPLETES, Workflow.DEFAULT_VERSION, 1) >= 1;
    // A reprioritize signal can be delivered before run() starts; it wins over the initial value.
    if (!priorityDirty) {
      this.priority = input.priority();
    }
    appliedPriority = input.resume() == null ? input.priority() : input.resume().appliedPriority();
    startDeadlineTimer();
    if (input.resume() != null) {
      return resume(input.resume());
    }

    PlanResult plan;
    try {
      plan = planUnlessFailed();
    } catch (ActivityFailure e) {
      log.error("Planning batch {} failed for good: {}", input.batchId(), e.getMessage());
      if (everyBatchEnds) {
        return endWithoutFiles(
            List.of(
                new BatchProblem(
                    "planning_failed",
                    "Planning the batch failed ("
                        + failureKind(e)
                        + "); none of its requests ran. Create the batch again.")));
      }
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
      Workflow.getMetricsScope().counter("batch_gateway_batches_started").inc(1);
      for (int i = 0; i < plan.chunkCount(); i++) {
        pending.add(i);
      }
      runChunks(plan.chunkCount(), plan.totalLines(), plan.model());
    }
    return finish(plan.chunkCount(), plan.totalLines());
  }

  /** A run that continued as new: planning and the move to in_progress are done. */
  private BatchOutcome resume(BatchResume from) {
    status = BatchStatus.IN_PROGRESS;
    failedChunks.addAll(from.failedChunks());
    chunksDone = from.chunksDone();
    requestsDone = from.requestsDone();
    pending.addAll(from.pendingChunks());
    Workflow.upsertTypedSearchAttributes(
        BatchSearchAttributes.STATUS.valueSet(status.wire()),
        BatchSearchAttributes.PRIORITY.valueSet((long) appliedPriority),
        BatchSearchAttributes.REQUESTS_TOTAL.valueSet(from.totalLines()),
        BatchSearchAttributes.REQUESTS_DONE.valueSet(requestsDone));
    if (from.model() != null) {
      Workflow.upsertTypedSearchAttributes(BatchSearchAttributes.MODEL.valueSet(from.model()));
    }
    if (stop == null) {
      runChunks(from.chunkCount(), from.totalLines(), from.model());
    }
    return finish(from.chunkCount(), from.totalLines());
  }

  @Override
  public void cancel(CancelRequest request) {
    String reason = request == null ? null : request.reason();
    log.info("Cancel requested for batch {}: {}", input == null ? "?" : input.batchId(), reason);
    requestStop(StopReason.CANCEL);
  }

  @Override
  public void reprioritize(ReprioritizeRequest request) {
    if (request != null && Boolean.TRUE.equals(boundedHistory)) {
      // Only the wish is recorded; the run loop applies the latest one, so repeated and
      // cancelling-out changes add no commands.
      priority = request.priority();
      return;
    }
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

  private void runChunks(int chunkCount, long totalLines, String model) {
    chunksTotal = chunkCount;
    int parallel = Math.max(1, input.parallelChunks());
    boolean cancelSent = false;
    while (true) {
      if (boundedHistory && stop == null && !movingToNewRun && historyIsLong()) {
        movingToNewRun = true;
        running.values().forEach(chunk -> chunk.scope().cancel());
      }
      if (!cancelChunksFirst) {
        recordPriorityIfChanged();
      }
      if (stop != null && !cancelSent) {
        stopChunks();
        cancelSent = true;
      }
      if (cancelChunksFirst) {
        recordPriorityIfChanged();
      }
      while (stop == null && !movingToNewRun && running.size() < parallel && !pending.isEmpty()) {
        launchChunk(pending.poll());
      }
      if (running.isEmpty()) {
        if (movingToNewRun && stop == null && !pending.isEmpty()) {
          continueAsNew(chunkCount, totalLines, model);
        }
        return;
      }
      boolean waitingForStop = !cancelSent;
      boolean waitingForLongHistory = boundedHistory && !movingToNewRun;
      Workflow.await(
          () ->
              (waitingForStop && stop != null)
                  || priorityChangeWaiting()
                  || (waitingForLongHistory && historyIsLong())
                  || running.values().stream().anyMatch(chunk -> chunk.promise().isCompleted()));
      collectFinishedChunks();
    }
  }

  private boolean historyIsLong() {
    return Workflow.getInfo().getHistoryLength() > HISTORY_LIMIT
        || Workflow.getInfo().isContinueAsNewSuggested();
  }

  private boolean priorityChangeWaiting() {
    return boundedHistory ? priority != appliedPriority : priorityDirty;
  }

  /** Hands the chunks still to run, and what the others did, to a new run of this workflow. */
  private void continueAsNew(int chunkCount, long totalLines, String model) {
    Workflow.await(Workflow::isEveryHandlerFinished);
    log.info(
        "Batch {} continues as new after {} history events with {} chunks to run",
        input.batchId(),
        Workflow.getInfo().getHistoryLength(),
        pending.size());
    Workflow.continueAsNew(
        input.continuedWith(
            priority,
            new BatchResume(
                totalLines,
                chunkCount,
                model,
                List.copyOf(pending),
                List.copyOf(failedChunks),
                chunksDone,
                requestsDone,
                appliedPriority)));
  }

  private void recordPriorityIfChanged() {
    if (boundedHistory) {
      if (priority != appliedPriority) {
        int wanted = priority;
        Workflow.upsertTypedSearchAttributes(
            BatchSearchAttributes.PRIORITY.valueSet((long) wanted));
        statusWriter.recordPriority(new PriorityChange(input.batchId(), input.tenant(), wanted));
        appliedPriority = wanted;
      }
      return;
    }
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
  private void stopChunks() {
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
        if (movingToNewRun && e.getCause() instanceof CanceledFailure) {
          // Cancelled for the move to a new run, which runs it again from its checkpoints.
          pending.addFirst(entry.getKey());
          continue;
        }
        log.error(
            "Chunk {} of batch {} gave up: {}", entry.getKey(), input.batchId(), e.getMessage());
        failedChunks.add(entry.getKey());
      }
    }
  }

  private BatchOutcome finish(int chunkCount, long totalLines) {
    if (stop == StopReason.EXPIRE && answeredBatchCompletes && everyRequestAnswered(totalLines)) {
      log.info(
          "Batch {} ran out of its window after all {} requests had their answer; it completes",
          input.batchId(),
          totalLines);
      stop = null;
    }
    BatchStatus terminal = endAsStopped(BatchStatus.COMPLETED);
    List<BatchProblem> problems = new ArrayList<>();
    if (everyBatchEnds && !failedChunks.isEmpty()) {
      problems.add(
          new BatchProblem(
              "chunk_failed",
              failedChunks.size()
                  + " of "
                  + chunkCount
                  + " chunks gave up after retries; their requests without a result are in the"
                  + " error file with code batch_failed."));
      terminal = endAsStopped(BatchStatus.FAILED);
    }
    if (stop != null) {
      persistStop();
    } else {
      setStatus(BatchStatus.FINALIZING);
    }
    FinalizeRequest request =
        new FinalizeRequest(
            input.batchId(),
            input.tenant(),
            chunkCount,
            totalLines,
            terminal,
            List.copyOf(failedChunks),
            problems,
            false);
    FinalizeResult result;
    if (!everyBatchEnds) {
      result = fileWork.finalizeBatch(request);
    } else {
      try {
        result = fileWork.finalizeBatch(request);
      } catch (ActivityFailure e) {
        log.error("Finalizing batch {} failed for good: {}", input.batchId(), e.getMessage());
        terminal = endAsStopped(BatchStatus.FAILED);
        String why = "Writing the output and error files failed (" + failureKind(e) + ")";
        try {
          result =
              salvage.finalizeBatch(
                  request.salvaged(
                      terminal,
                      append(
                          problems,
                          new BatchProblem(
                              "finalize_failed",
                              why + "; the files hold every result that could be read back."))));
        } catch (ActivityFailure again) {
          log.error("Salvaging batch {} failed too: {}", input.batchId(), again.getMessage());
          return endWithoutFiles(
              append(
                  problems,
                  new BatchProblem(
                      "finalize_failed",
                      why + " twice; no output or error file could be written.")));
        }
      }
    }
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

  /**
   * Whether every chunk reported back with a result for each of its lines: nothing is left for an
   * expiry to cut. A chunk stopped before all its lines had answers reports a cancel instead, and
   * one that gave up is in {@link #failedChunks}.
   */
  private boolean everyRequestAnswered(long totalLines) {
    return totalLines > 0
        && pending.isEmpty()
        && running.isEmpty()
        && failedChunks.isEmpty()
        && requestsDone >= totalLines;
  }

  /** The terminal status a stop asked for, or {@code otherwise} when nothing was stopped. */
  private BatchStatus endAsStopped(BatchStatus otherwise) {
    return stop == StopReason.CANCEL
        ? BatchStatus.CANCELLED
        : stop == StopReason.EXPIRE ? BatchStatus.EXPIRED : otherwise;
  }

  /**
   * The last resort: a status write, retried until the database answers, that ends the batch with
   * its problems as errors. It is allowed from every status the batch can be in here.
   */
  private BatchOutcome endWithoutFiles(List<BatchProblem> problems) {
    BatchStatus terminal = endAsStopped(BatchStatus.FAILED);
    statusWriter.failBatch(new BatchFailure(input.batchId(), input.tenant(), terminal, problems));
    status = terminal;
    Workflow.upsertTypedSearchAttributes(BatchSearchAttributes.STATUS.valueSet(terminal.wire()));
    return new BatchOutcome(terminal, RequestCounts.ZERO);
  }

  private static List<BatchProblem> append(List<BatchProblem> problems, BatchProblem more) {
    List<BatchProblem> all = new ArrayList<>(problems);
    all.add(more);
    return all;
  }

  /**
   * What kind of failure ended an activity, fit to show a tenant: the failure type, never the
   * message, which may name servers or paths.
   */
  private static String failureKind(ActivityFailure failure) {
    Throwable cause = failure.getCause();
    if (cause instanceof ApplicationFailure application) {
      return application.getType();
    }
    if (cause instanceof TimeoutFailure) {
      return "timeout";
    }
    return cause == null ? "unknown" : cause.getClass().getSimpleName();
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
