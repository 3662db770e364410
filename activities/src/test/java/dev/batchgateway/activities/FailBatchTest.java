package dev.batchgateway.activities;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.store.FilesystemFileStore;
import dev.batchgateway.activities.testing.RecordingMetadataStore;
import dev.batchgateway.workflows.BatchFailure;
import dev.batchgateway.workflows.BatchProblem;
import dev.batchgateway.workflows.BatchStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The last-resort end of a batch: it records why and reaches a terminal status from anywhere. */
class FailBatchTest {
  private static final String BATCH = "batch_x";
  private static final List<BatchProblem> WHY =
      List.of(new BatchProblem("planning_failed", "Planning the batch failed"));

  @TempDir Path root;
  private RecordingMetadataStore metadata;
  private BatchLifecycleActivitiesImpl activities;

  @BeforeEach
  void setUp() throws IOException {
    metadata = new RecordingMetadataStore();
    activities =
        new BatchLifecycleActivitiesImpl(
            new ObjectMapper(),
            metadata,
            new FilesystemFileStore(root),
            null,
            BatchSettings.defaults(),
            Clock.systemUTC());
  }

  @Test
  void aValidatingBatchFailsWithItsErrors() {
    metadata.statuses.put(BATCH, BatchStatus.VALIDATING);

    activities.failBatch(new BatchFailure(BATCH, "t1", BatchStatus.FAILED, WHY));

    assertThat(metadata.statuses.get(BATCH)).isEqualTo(BatchStatus.FAILED);
    assertThat(metadata.errors.get(BATCH))
        .containsExactly(
            new BatchError("planning_failed", "Planning the batch failed", null, null));
  }

  @Test
  void aCancellingBatchAskedToFailEndsCancelled() {
    metadata.statuses.put(BATCH, BatchStatus.CANCELLING);

    activities.failBatch(new BatchFailure(BATCH, "t1", BatchStatus.FAILED, WHY));

    assertThat(metadata.statuses.get(BATCH)).isEqualTo(BatchStatus.CANCELLED);
    assertThat(metadata.errors.get(BATCH))
        .extracting(BatchError::code)
        .containsExactly("planning_failed");
  }

  @Test
  void aRunningBatchEndsAsTheStopAskedFor() {
    metadata.statuses.put(BATCH, BatchStatus.IN_PROGRESS);

    activities.failBatch(new BatchFailure(BATCH, "t1", BatchStatus.EXPIRED, WHY));

    assertThat(metadata.statuses.get(BATCH)).isEqualTo(BatchStatus.EXPIRED);
  }

  @Test
  void aTerminalBatchIsLeftAsItIs() {
    metadata.statuses.put(BATCH, BatchStatus.COMPLETED);

    activities.failBatch(new BatchFailure(BATCH, "t1", BatchStatus.FAILED, WHY));

    assertThat(metadata.statuses.get(BATCH)).isEqualTo(BatchStatus.COMPLETED);
    assertThat(metadata.errors).doesNotContainKey(BATCH);
  }
}
