package dev.batchgateway.activities.cleanup;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.port.CleanupStore;
import dev.batchgateway.activities.port.CleanupStore.StoredObject;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.workflows.cleanup.CleanupActivities;
import dev.batchgateway.workflows.cleanup.CleanupCount;
import dev.batchgateway.workflows.cleanup.CleanupPage;
import dev.batchgateway.workflows.cleanup.CleanupWorkPage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.List;

/**
 * Cleanup steps against the metadata and file stores, with meters {@code cleanup.files.expired},
 * {@code cleanup.files.purged}, {@code cleanup.batch_work.purged} and {@code
 * cleanup.batches.deleted}. Bytes are removed before their row is marked, so a retry after a crash
 * in between removes them again (a no-op) and never leaves them behind.
 */
public final class CleanupActivitiesImpl implements CleanupActivities {
  private final CleanupStore rows;
  private final FileStore store;
  private final Clock clock;
  private final Meter filesExpired;
  private final Meter filesPurged;
  private final Meter batchWorkPurged;
  private final Meter batchesDeleted;

  public CleanupActivitiesImpl(
      CleanupStore rows, FileStore store, Clock clock, MetricRegistry metrics) {
    this.rows = rows;
    this.store = store;
    this.clock = clock;
    this.filesExpired = metrics.meter("batch_gateway_cleanup_files_expired_total");
    this.filesPurged = metrics.meter("batch_gateway_cleanup_files_purged_total");
    this.batchWorkPurged = metrics.meter("batch_gateway_cleanup_batch_work_purged_total");
    this.batchesDeleted = metrics.meter("batch_gateway_cleanup_batches_deleted_total");
  }

  @Override
  public CleanupCount expireFiles(CleanupPage page) {
    int marked = rows.expireFiles(page.asOfEpochSeconds(), page.limit());
    filesExpired.mark(marked);
    return new CleanupCount(marked, marked >= page.limit());
  }

  @Override
  public CleanupCount purgeFiles(CleanupPage page) {
    List<StoredObject> files = rows.unpurgedFiles(page.limit());
    for (StoredObject file : files) {
      try {
        store.delete(file.storageKey());
      } catch (IOException e) {
        throw new UncheckedIOException("Could not delete the bytes of file " + file.id(), e);
      }
      rows.markFilePurged(file.id(), now());
      filesPurged.mark();
    }
    return new CleanupCount(files.size(), files.size() >= page.limit());
  }

  @Override
  public CleanupCount purgeBatchWork(CleanupWorkPage page) {
    List<StoredObject> batches =
        rows.unpurgedBatchWork(page.endedBeforeEpochSeconds(), page.limit());
    for (StoredObject batch : batches) {
      try {
        store.deleteAll(StorageKeys.batchRoot(batch.tenant(), batch.id()));
      } catch (IOException e) {
        throw new UncheckedIOException("Could not delete the work folder of " + batch.id(), e);
      }
      rows.markBatchWorkPurged(batch.id(), now());
      batchWorkPurged.mark();
    }
    return new CleanupCount(batches.size(), batches.size() >= page.limit());
  }

  @Override
  public CleanupCount deleteBatches(CleanupWorkPage page) {
    int deleted = rows.deleteEndedBatches(page.endedBeforeEpochSeconds(), page.limit());
    batchesDeleted.mark(deleted);
    return new CleanupCount(deleted, deleted >= page.limit());
  }

  private long now() {
    return clock.instant().getEpochSecond();
  }
}
