package dev.batchgateway.service.db;

import dev.batchgateway.activities.port.CleanupStore;
import dev.batchgateway.workflows.BatchStatus;
import java.util.Arrays;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/** Cleanup's reads and writes in PostgreSQL, across tenants. */
public final class JdbiCleanupStore implements CleanupStore {
  private static final List<String> TERMINAL =
      Arrays.stream(BatchStatus.values())
          .filter(BatchStatus::isTerminal)
          .map(BatchStatus::wire)
          .toList();

  /** When a finished batch ended: exactly one of these is set for each terminal status. */
  private static final String ENDED_AT =
      "COALESCE(completed_at, failed_at, expired_at, cancelled_at)";

  /** The file is the input of a batch that has not ended. */
  private static final String NEEDED =
      "EXISTS (SELECT 1 FROM batches b WHERE b.input_file_id = f.id AND b.tenant = f.tenant"
          + " AND b.status NOT IN (<terminal>))";

  private final Jdbi jdbi;

  public JdbiCleanupStore(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /**
   * Two statements in one transaction. The first locks the candidates, skipping any row a batch
   * create holds (it locks its input file while inserting the batch); the second, with a fresh
   * snapshot, sees every batch committed before the locks were taken and spares their inputs. A
   * create that comes later waits for this transaction and then finds its file deleted.
   */
  @Override
  public int expireFiles(long asOf, int limit) {
    return jdbi.inTransaction(
        handle -> {
          List<String> ids =
              handle
                  .createQuery(
                      "SELECT f.id FROM files f WHERE f.deleted_at IS NULL"
                          + " AND f.expires_at IS NOT NULL AND f.expires_at <= :asOf AND NOT "
                          + NEEDED
                          + " ORDER BY f.expires_at LIMIT :limit FOR UPDATE OF f SKIP LOCKED")
                  .bind("asOf", asOf)
                  .bind("limit", limit)
                  .bindList("terminal", TERMINAL)
                  .mapTo(String.class)
                  .list();
          if (ids.isEmpty()) {
            return 0;
          }
          return handle
              .createUpdate(
                  "UPDATE files f SET deleted_at = :asOf WHERE f.id IN (<ids>)"
                      + " AND f.deleted_at IS NULL AND NOT "
                      + NEEDED)
              .bind("asOf", asOf)
              .bindList("ids", ids)
              .bindList("terminal", TERMINAL)
              .execute();
        });
  }

  @Override
  public List<StoredObject> unpurgedFiles(int limit) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT tenant, id, storage_key FROM files"
                        + " WHERE deleted_at IS NOT NULL AND purged_at IS NULL"
                        + " ORDER BY deleted_at LIMIT :limit")
                .bind("limit", limit)
                .map(
                    (rs, ctx) ->
                        new StoredObject(
                            rs.getString("tenant"),
                            rs.getString("id"),
                            rs.getString("storage_key")))
                .list());
  }

  @Override
  public void markFilePurged(String fileId, long at) {
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate("UPDATE files SET purged_at = :at WHERE id = :id")
                .bind("at", at)
                .bind("id", fileId)
                .execute());
  }

  @Override
  public List<StoredObject> unpurgedBatchWork(long endedBefore, int limit) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT tenant, id FROM batches WHERE work_purged_at IS NULL"
                        + " AND status IN (<terminal>) AND "
                        + ENDED_AT
                        + " <= :before ORDER BY seq LIMIT :limit")
                .bindList("terminal", TERMINAL)
                .bind("before", endedBefore)
                .bind("limit", limit)
                .map(
                    (rs, ctx) -> new StoredObject(rs.getString("tenant"), rs.getString("id"), null))
                .list());
  }

  @Override
  public void markBatchWorkPurged(String batchId, long at) {
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate("UPDATE batches SET work_purged_at = :at WHERE id = :id")
                .bind("at", at)
                .bind("id", batchId)
                .execute());
  }

  @Override
  public int deleteEndedBatches(long endedBefore, int limit) {
    return jdbi.withHandle(
        handle ->
            handle
                .createUpdate(
                    "DELETE FROM batches WHERE id IN (SELECT id FROM batches"
                        + " WHERE status IN (<terminal>) AND work_purged_at IS NOT NULL AND "
                        + ENDED_AT
                        + " <= :before ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED)")
                .bindList("terminal", TERMINAL)
                .bind("before", endedBefore)
                .bind("limit", limit)
                .execute());
  }
}
