package dev.batchgateway.activities;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.chunk.CorruptSegmentException;
import dev.batchgateway.activities.finalize.Finalizer;
import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.plan.Plan;
import dev.batchgateway.activities.plan.Planner;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.InferenceClient;
import dev.batchgateway.activities.port.MetadataStore;
import dev.batchgateway.workflows.BatchFailure;
import dev.batchgateway.workflows.BatchLifecycleActivities;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.FinalizeRequest;
import dev.batchgateway.workflows.FinalizeResult;
import dev.batchgateway.workflows.PlanRequest;
import dev.batchgateway.workflows.PlanResult;
import dev.batchgateway.workflows.PriorityChange;
import dev.batchgateway.workflows.StatusChange;
import io.temporal.activity.Activity;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class BatchLifecycleActivitiesImpl implements BatchLifecycleActivities {
  private static final Logger log = LoggerFactory.getLogger(BatchLifecycleActivitiesImpl.class);

  /** Failure type of a finalize that met a damaged checkpoint segment; not retried. */
  public static final String CORRUPT_CHECKPOINT = "corrupt_checkpoint";

  /** Failure type of a plan whose input file has a row but no bytes; not retried. */
  public static final String INPUT_MISSING = "input_missing";

  private final MetadataStore metadata;
  private final InferenceClient inference;
  private final Planner planner;
  private final Finalizer finalizer;
  private final Clock clock;

  public BatchLifecycleActivitiesImpl(
      ObjectMapper json,
      MetadataStore metadata,
      FileStore store,
      InferenceClient inference,
      BatchSettings settings,
      Clock clock) {
    this.metadata = metadata;
    this.inference = inference;
    this.planner = new Planner(json, store, settings);
    this.finalizer = new Finalizer(json, store, metadata, clock, settings.segmentLines());
    this.clock = clock;
  }

  @Override
  public PlanResult plan(PlanRequest request) {
    try (LogContext.Scope ignored = LogContext.forBatch(request.batchId(), request.tenant())) {
      return planInput(request);
    }
  }

  private PlanResult planInput(PlanRequest request) {
    Optional<FileRecord> input = metadata.findFile(request.tenant(), request.inputFileId());
    if (input.isEmpty() || !FileRecord.PURPOSE_BATCH.equals(input.get().purpose())) {
      metadata.recordErrors(
          request.tenant(),
          request.batchId(),
          List.of(
              new BatchError(
                  "invalid_request",
                  "The input file " + request.inputFileId() + " no longer exists.",
                  "input_file_id",
                  null)));
      return new PlanResult(false, 0, 0, null);
    }
    // One look per model name, however many lines name it.
    Map<String, Boolean> served = new HashMap<>();
    try {
      Plan plan =
          planner.plan(
              request.tenant(),
              request.batchId(),
              request.endpoint(),
              input.get().storageKey(),
              request.sortByPrefix(),
              model -> served.computeIfAbsent(model, m -> inference.poolFor(m).isPresent()),
              linesRead -> Activity.getExecutionContext().heartbeat(linesRead));
      metadata.recordPlan(request.tenant(), request.batchId(), plan.totalLines(), plan.model());
      if (!plan.valid()) {
        metadata.recordErrors(request.tenant(), request.batchId(), plan.errors());
        log.info(
            "Batch {} failed validation with {} listed errors",
            request.batchId(),
            plan.errors().size());
      }
      return new PlanResult(plan.valid(), plan.totalLines(), plan.chunkCount(), plan.model());
    } catch (NoSuchFileException e) {
      // The file's row exists but its bytes are gone: reading again will not bring them back.
      throw ApplicationFailure.newNonRetryableFailureWithCause(
          "The input file's bytes are missing from the file store", INPUT_MISSING, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void recordStatus(StatusChange change) {
    try (LogContext.Scope ignored = LogContext.forBatch(change.batchId(), change.tenant())) {
      writeStatus(change);
    }
  }

  private void writeStatus(StatusChange change) {
    boolean moved =
        metadata.transitionStatus(
            change.tenant(), change.batchId(), change.status(), clock.instant().getEpochSecond());
    if (!moved) {
      log.info(
          "Batch {} did not move to {}: not allowed from its status",
          change.batchId(),
          change.status().wire());
    }
  }

  @Override
  public void recordPriority(PriorityChange change) {
    try (LogContext.Scope ignored = LogContext.forBatch(change.batchId(), change.tenant())) {
      writePriority(change);
    }
  }

  private void writePriority(PriorityChange change) {
    metadata.recordPriority(change.tenant(), change.batchId(), change.priority());
  }

  @Override
  public FinalizeResult finalizeBatch(FinalizeRequest request) {
    try (LogContext.Scope ignored = LogContext.forBatch(request.batchId(), request.tenant())) {
      return writeResults(request);
    }
  }

  private FinalizeResult writeResults(FinalizeRequest request) {
    try {
      return finalizer.finalizeBatch(
          request, () -> Activity.getExecutionContext().heartbeat(request.batchId()));
    } catch (CorruptSegmentException e) {
      // Reading it again gives the same damage: let the workflow salvage at once.
      throw ApplicationFailure.newNonRetryableFailureWithCause(
          e.getMessage(), CORRUPT_CHECKPOINT, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void failBatch(BatchFailure failure) {
    try (LogContext.Scope ignored = LogContext.forBatch(failure.batchId(), failure.tenant())) {
      endWithoutFiles(failure);
    }
  }

  private void endWithoutFiles(BatchFailure failure) {
    Optional<BatchStatus> current = metadata.batchStatus(failure.tenant(), failure.batchId());
    if (current.isEmpty() || current.get().isTerminal()) {
      return;
    }
    metadata.recordErrors(
        failure.tenant(),
        failure.batchId(),
        failure.problems().stream()
            .map(problem -> new BatchError(problem.code(), problem.message(), null, null))
            .toList());
    long now = clock.instant().getEpochSecond();
    // The status asked for first; a batch that cannot move there (cancelling asked to fail)
    // still ends, as failed or else cancelled.
    for (BatchStatus terminal :
        List.of(failure.status(), BatchStatus.FAILED, BatchStatus.CANCELLED)) {
      if (metadata.transitionStatus(failure.tenant(), failure.batchId(), terminal, now)) {
        log.warn("Batch {} ended as {} without result files", failure.batchId(), terminal.wire());
        return;
      }
    }
  }
}
