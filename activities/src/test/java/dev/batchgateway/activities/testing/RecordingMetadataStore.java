package dev.batchgateway.activities.testing;

import dev.batchgateway.activities.model.BatchControl;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.ChunkProgress;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.activities.port.MetadataStore;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.FinalizeResult;
import dev.batchgateway.workflows.RequestCounts;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.MDC;

/**
 * Remembers the progress, error and completion calls the activities make; other calls are not used.
 */
public final class RecordingMetadataStore implements MetadataStore {

  /** One {@link #recordChunkProgress} call. */
  public record ProgressCall(
      String tenant, String batchId, int chunkIndex, ChunkProgress progress) {}

  /** One {@link #completeBatch} call. */
  public record CompleteCall(
      String tenant,
      String batchId,
      BatchStatus terminal,
      RequestCounts counts,
      Usage usage,
      FileRecord outputFile,
      FileRecord errorFile,
      long atEpochSeconds) {}

  public final List<ProgressCall> progress = new CopyOnWriteArrayList<>();
  public final List<CompleteCall> completions = new CopyOnWriteArrayList<>();

  /** Each batch's status, by batch id; moves follow {@link BatchStatus#canMoveTo}. */
  public final Map<String, BatchStatus> statuses = new ConcurrentHashMap<>();

  /** The errors last recorded, by batch id. */
  public final Map<String, List<BatchError>> errors = new ConcurrentHashMap<>();

  /** Each batch's OpenAI metadata, by batch id. */
  public final Map<String, Map<String, String>> metadata = new ConcurrentHashMap<>();

  @Override
  public Optional<FileRecord> findFile(String tenant, String fileId) {
    throw new UnsupportedOperationException();
  }

  @Override
  public Optional<BatchStatus> batchStatus(String tenant, String batchId) {
    return Optional.ofNullable(statuses.get(batchId));
  }

  @Override
  public Map<String, String> batchMetadata(String tenant, String batchId) {
    return metadata.getOrDefault(batchId, Map.of());
  }

  @Override
  public Optional<BatchControl> batchControl(String tenant, String batchId) {
    throw new UnsupportedOperationException();
  }

  /** The calling thread's logging context (MDC) at each {@link #transitionStatus} call. */
  public final List<Map<String, String>> transitionLogContexts = new CopyOnWriteArrayList<>();

  @Override
  public boolean transitionStatus(
      String tenant, String batchId, BatchStatus next, long atEpochSeconds) {
    Map<String, String> mdc = MDC.getCopyOfContextMap();
    transitionLogContexts.add(mdc == null ? Map.of() : mdc);
    BatchStatus current = statuses.get(batchId);
    if (current == null || !current.canMoveTo(next)) {
      return false;
    }
    statuses.put(batchId, next);
    return true;
  }

  @Override
  public void recordPlan(String tenant, String batchId, long totalLines, String model) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void recordErrors(String tenant, String batchId, List<BatchError> batchErrors) {
    errors.put(batchId, List.copyOf(batchErrors));
  }

  @Override
  public void recordPriority(String tenant, String batchId, int priority) {
    throw new UnsupportedOperationException();
  }

  /** While true, progress writes fail as they would with the database down. */
  public volatile boolean progressDown;

  @Override
  public void recordChunkProgress(
      String tenant, String batchId, int chunkIndex, ChunkProgress chunkProgress) {
    if (progressDown) {
      throw new IllegalStateException("database down");
    }
    progress.add(new ProgressCall(tenant, batchId, chunkIndex, chunkProgress));
  }

  /** A batch is terminal once {@link #completeBatch} was called for it; the first call wins. */
  @Override
  public Optional<FinalizeResult> finalResult(String tenant, String batchId) {
    return completions.stream()
        .filter(call -> call.batchId().equals(batchId))
        .findFirst()
        .map(
            call ->
                new FinalizeResult(
                    call.counts(),
                    call.outputFile() == null ? null : call.outputFile().id(),
                    call.errorFile() == null ? null : call.errorFile().id()));
  }

  @Override
  public void completeBatch(
      String tenant,
      String batchId,
      BatchStatus terminal,
      RequestCounts counts,
      Usage usage,
      FileRecord outputFile,
      FileRecord errorFile,
      long atEpochSeconds) {
    completions.add(
        new CompleteCall(
            tenant, batchId, terminal, counts, usage, outputFile, errorFile, atEpochSeconds));
  }
}
