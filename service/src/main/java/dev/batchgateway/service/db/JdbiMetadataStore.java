package dev.batchgateway.service.db;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.model.BatchControl;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.ChunkProgress;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.activities.port.BatchPace;
import dev.batchgateway.activities.port.MetadataStore;
import dev.batchgateway.service.model.BatchRecord;
import dev.batchgateway.service.port.ApiMetadataStore;
import dev.batchgateway.service.quota.BatchQuotas;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.FinalizeResult;
import dev.batchgateway.workflows.RequestCounts;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Files and batches in PostgreSQL. Every statement is scoped by tenant. */
public final class JdbiMetadataStore implements MetadataStore, ApiMetadataStore {
  private static final String FILE_COLUMNS =
      "id, tenant, filename, purpose, bytes, created_at, expires_at, status, storage_key";

  /** Neither deleted nor expired at {@code :now}. */
  private static final String LIVE =
      "deleted_at IS NULL AND (expires_at IS NULL OR expires_at > :now)";

  /**
   * Live counts for a running batch come from its chunks; a finished batch keeps its final ones.
   */
  private static final String BATCH_SELECT =
      """
      SELECT b.*,
             COALESCE(c.completed, 0) AS live_completed, COALESCE(c.failed, 0) AS live_failed,
             COALESCE(c.input_tokens, 0) AS live_input_tokens,
             COALESCE(c.cached_tokens, 0) AS live_cached_tokens,
             COALESCE(c.output_tokens, 0) AS live_output_tokens,
             COALESCE(c.reasoning_tokens, 0) AS live_reasoning_tokens,
             COALESCE(c.total_tokens, 0) AS live_total_tokens
        FROM batches b
        LEFT JOIN LATERAL (
          SELECT SUM(completed) AS completed, SUM(failed) AS failed,
                 SUM(input_tokens) AS input_tokens, SUM(cached_tokens) AS cached_tokens,
                 SUM(output_tokens) AS output_tokens, SUM(reasoning_tokens) AS reasoning_tokens,
                 SUM(total_tokens) AS total_tokens
            FROM batch_chunks WHERE batch_id = b.id AND b.status IN ('in_progress', 'finalizing', 'cancelling')
        ) c ON TRUE
      """;

  private static final Logger log = LoggerFactory.getLogger(JdbiMetadataStore.class);
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};

  private final Jdbi jdbi;
  private final ObjectMapper json;

  public JdbiMetadataStore(Jdbi jdbi, ObjectMapper json) {
    this.jdbi = jdbi;
    this.json = json;
  }

  // ---- files

  @Override
  public void insertFile(FileRecord file) {
    jdbi.useHandle(handle -> insertFile(handle, file, null));
  }

  @Override
  public void insertUpload(FileRecord file, long requestLines) {
    jdbi.useHandle(handle -> insertFile(handle, file, requestLines));
  }

  @Override
  public StorageUsage storageUsage(String tenant, long now) {
    return jdbi.withHandle(handle -> storageUsage(handle, tenant, now));
  }

  private static StorageUsage storageUsage(Handle handle, String tenant, long now) {
    return handle
        .createQuery(
            "SELECT COUNT(*) AS files, COALESCE(SUM(bytes), 0) AS bytes FROM files"
                + " WHERE tenant = :tenant AND "
                + LIVE)
        .bind("tenant", tenant)
        .bind("now", now)
        .map((rs, ctx) -> new StorageUsage(rs.getLong("files"), rs.getLong("bytes")))
        .one();
  }

  /**
   * Inserts an uploaded file unless the tenant would then store more files or bytes than its limits
   * (0: none). Answers the usage that stopped it, or empty once the file is in. The uploads of one
   * tenant take a transaction-scoped advisory lock in turn, so two at once cannot both take the
   * last room left.
   */
  @Override
  public Optional<StorageUsage> insertFileWithinQuota(
      FileRecord file, long requestLines, long maxFiles, long maxBytes, long now) {
    return jdbi.inTransaction(
        handle -> {
          handle.execute(
              "SELECT pg_advisory_xact_lock(hashtext(?))", "bgw-storage-quota:" + file.tenant());
          StorageUsage usage = storageUsage(handle, file.tenant(), now);
          if ((maxFiles > 0 && usage.files() + 1 > maxFiles)
              || (maxBytes > 0 && usage.bytes() + file.bytes() > maxBytes)) {
            return Optional.of(usage);
          }
          insertFile(handle, file, requestLines);
          return Optional.<StorageUsage>empty();
        });
  }

  /**
   * @param requestLines the requests (non-blank lines) of an upload; null for the files batches
   *     write, which no batch reads
   */
  private static void insertFile(Handle handle, FileRecord file, Long requestLines) {
    handle
        .createUpdate(
            "INSERT INTO files ("
                + FILE_COLUMNS
                + ", request_lines) VALUES (:id, :tenant, :filename, :purpose, :bytes, :createdAt,"
                + " :expiresAt, :status, :storageKey, :requestLines) ON CONFLICT (id) DO NOTHING")
        .bindMethods(file)
        .bind("requestLines", requestLines)
        .execute();
  }

  @Override
  public Optional<FileRecord> findFile(String tenant, String fileId) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT "
                        + FILE_COLUMNS
                        + " FROM files WHERE tenant = :tenant AND id = :id AND deleted_at IS NULL")
                .bind("tenant", tenant)
                .bind("id", fileId)
                .map((rs, ctx) -> fileRecord(rs))
                .findOne());
  }

  /** A file as the API shows it: neither deleted nor expired at {@code now}. */
  @Override
  public Optional<FileRecord> findLiveFile(String tenant, String fileId, long now) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT "
                        + FILE_COLUMNS
                        + " FROM files WHERE tenant = :tenant AND id = :id AND "
                        + LIVE)
                .bind("tenant", tenant)
                .bind("id", fileId)
                .bind("now", now)
                .map((rs, ctx) -> fileRecord(rs))
                .findOne());
  }

  /**
   * One page of a tenant's live files; an expired file leaves the list as soon as it expires,
   * before cleanup marks it deleted.
   *
   * @param afterId cursor: the page starts after this file (which may since have been deleted)
   * @return up to {@code limit + 1} rows, so the caller can tell whether more follow
   */
  @Override
  public Optional<List<FileRecord>> listFiles(
      String tenant, String purpose, String afterId, boolean ascending, int limit, long now) {
    return jdbi.withHandle(
        handle -> {
          Long afterSeq = null;
          if (afterId != null) {
            Optional<Long> seq = cursorSeq(handle, "files", tenant, afterId);
            if (seq.isEmpty()) {
              return Optional.empty();
            }
            afterSeq = seq.get();
          }
          String sql =
              "SELECT "
                  + FILE_COLUMNS
                  + " FROM files WHERE tenant = :tenant AND "
                  + LIVE
                  + (purpose == null ? "" : " AND purpose = :purpose")
                  + (afterSeq == null ? "" : ascending ? " AND seq > :after" : " AND seq < :after")
                  + " ORDER BY seq "
                  + (ascending ? "ASC" : "DESC")
                  + " LIMIT :limit";
          Query query =
              handle
                  .createQuery(sql)
                  .bind("tenant", tenant)
                  .bind("now", now)
                  .bind("limit", limit + 1);
          if (purpose != null) {
            query.bind("purpose", purpose);
          }
          if (afterSeq != null) {
            query.bind("after", afterSeq);
          }
          return Optional.of(query.map((rs, ctx) -> fileRecord(rs)).list());
        });
  }

  /** Marks a file deleted; returns false when there was no such live file. */
  @Override
  public boolean deleteFile(String tenant, String fileId, long at) {
    return jdbi.withHandle(
            handle ->
                handle
                    .createUpdate(
                        "UPDATE files SET deleted_at = :at WHERE tenant = :tenant AND id = :id"
                            + " AND deleted_at IS NULL")
                    .bind("at", at)
                    .bind("tenant", tenant)
                    .bind("id", fileId)
                    .execute())
        > 0;
  }

  /** The position of a cursor object in its table; deleted files keep theirs. */
  private static Optional<Long> cursorSeq(Handle handle, String table, String tenant, String id) {
    return handle
        .createQuery("SELECT seq FROM " + table + " WHERE tenant = :tenant AND id = :id")
        .bind("tenant", tenant)
        .bind("id", id)
        .mapTo(Long.class)
        .findOne();
  }

  private static FileRecord fileRecord(ResultSet rs) throws SQLException {
    return new FileRecord(
        rs.getString("id"),
        rs.getString("tenant"),
        rs.getString("filename"),
        rs.getString("purpose"),
        rs.getLong("bytes"),
        rs.getLong("created_at"),
        nullableLong(rs, "expires_at"),
        rs.getString("status"),
        rs.getString("storage_key"));
  }

  // ---- batches

  /**
   * Inserts the batch if its input file is still there, holding the file's row meanwhile so that
   * cleanup cannot delete it under the new batch (see {@link JdbiCleanupStore#expireFiles}).
   *
   * @return false, with nothing inserted, when the input file was deleted meanwhile
   */
  @Override
  public boolean insertBatch(BatchRecord batch) {
    return insertBatchWithinQuota(batch, 0, 0).outcome() == BatchInsertOutcome.INSERTED;
  }

  /**
   * As {@link #insertBatch}, within the tenant's batch quotas. When a limit applies, the creates of
   * one tenant take a transaction-scoped advisory lock in turn and count the tenant's unfinished
   * batches under it, so two at once cannot both take the last room left; without limits nothing is
   * counted or locked.
   */
  @Override
  public BatchInsert insertBatchWithinQuota(
      BatchRecord batch, long maxActiveBatches, long maxQueued) {
    boolean limited = maxActiveBatches > 0 || maxQueued > 0;
    return jdbi.inTransaction(
        handle -> {
          if (limited) {
            handle.execute(
                "SELECT pg_advisory_xact_lock(hashtext(?))", "bgw-batch-quota:" + batch.tenant());
          }
          Optional<Long> inputRequests =
              handle
                  .createQuery(
                      "SELECT COALESCE(request_lines, 0) FROM files WHERE tenant = :tenant"
                          + " AND id = :id AND deleted_at IS NULL FOR SHARE")
                  .bind("tenant", batch.tenant())
                  .bind("id", batch.inputFileId())
                  .mapTo(Long.class)
                  .findOne();
          if (inputRequests.isEmpty()) {
            return new BatchInsert(BatchInsertOutcome.NO_INPUT_FILE, null, 0);
          }
          long newRequests = inputRequests.get();
          BatchQuotas.Load load = null;
          if (limited) {
            load = batchLoad(handle, batch.tenant());
            if (BatchQuotas.passed(load, newRequests, maxActiveBatches, maxQueued) != null) {
              return new BatchInsert(BatchInsertOutcome.OVER_QUOTA, load, newRequests);
            }
          }
          handle
              .createUpdate(
                  """
                    INSERT INTO batches (id, tenant, endpoint, input_file_id, completion_window,
                        status, created_at, expires_at, metadata, priority, output_expires_after,
                        workflow_started)
                    VALUES (:id, :tenant, :endpoint, :inputFileId, :completionWindow, :status,
                        :createdAt, :expiresAt, :metadata, :priority, :outputExpiresAfter, FALSE)
                    """)
              .bind("id", batch.id())
              .bind("tenant", batch.tenant())
              .bind("endpoint", batch.endpoint())
              .bind("inputFileId", batch.inputFileId())
              .bind("completionWindow", batch.completionWindow())
              .bind("status", batch.status().wire())
              .bind("createdAt", batch.createdAt())
              .bind("expiresAt", batch.expiresAt())
              .bind("metadata", batch.metadata())
              .bind("priority", batch.priority())
              .bind("outputExpiresAfter", batch.outputExpiresAfter())
              .execute();
          return new BatchInsert(BatchInsertOutcome.INSERTED, load, newRequests);
        });
  }

  /**
   * A tenant's unfinished batches and the requests in them: a batch's total once validation has
   * counted it, its input file's count before (0 for a file uploaded before files were counted).
   */
  private static BatchQuotas.Load batchLoad(Handle handle, String tenant) {
    return handle
        .createQuery(
            """
            SELECT COUNT(*) AS active,
                   COALESCE(SUM(CASE WHEN b.total_requests > 0 THEN b.total_requests
                                     ELSE COALESCE(f.request_lines, 0) END), 0) AS queued
              FROM batches b LEFT JOIN files f ON f.id = b.input_file_id AND f.tenant = b.tenant
             WHERE b.tenant = :tenant
               AND b.status IN ('validating', 'in_progress', 'finalizing', 'cancelling')
            """)
        .bind("tenant", tenant)
        .map((rs, ctx) -> new BatchQuotas.Load(rs.getLong("active"), rs.getLong("queued")))
        .one();
  }

  /** A batch row whose workflow is not known to have started. */
  public record UnstartedBatch(String tenant, String id, long createdAt) {}

  /** Records that Temporal accepted the batch's workflow. */
  @Override
  public void markWorkflowStarted(String tenant, String batchId) {
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate(
                    "UPDATE batches SET workflow_started = TRUE"
                        + " WHERE tenant = :tenant AND id = :id AND NOT workflow_started")
                .bind("tenant", tenant)
                .bind("id", batchId)
                .execute());
  }

  /** Rows created before the given time whose workflow is not known to have started. */
  public List<UnstartedBatch> unstartedBatches(long createdBeforeEpochSeconds, int limit) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT tenant, id, created_at FROM batches"
                        + " WHERE NOT workflow_started AND created_at < :before"
                        + " ORDER BY created_at LIMIT :limit")
                .bind("before", createdBeforeEpochSeconds)
                .bind("limit", limit)
                .map(
                    (rs, ctx) ->
                        new UnstartedBatch(
                            rs.getString("tenant"), rs.getString("id"), rs.getLong("created_at")))
                .list());
  }

  /**
   * Fails a batch whose workflow never started, with the reason as its error; false when its
   * workflow was found started meanwhile or the batch is no longer validating.
   */
  public boolean failUnstarted(String tenant, String batchId, BatchError error, long at) {
    String text;
    try {
      text = json.writeValueAsString(List.of(error));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Batch errors are plain records", e);
    }
    return jdbi.withHandle(
            handle ->
                handle
                    .createUpdate(
                        "UPDATE batches SET status = :failed, failed_at = GREATEST(:at,"
                            + " created_at), errors = :errors, workflow_started = TRUE"
                            + " WHERE tenant = :tenant AND id = :id AND NOT workflow_started"
                            + " AND status = :validating")
                    .bind("failed", BatchStatus.FAILED.wire())
                    .bind("validating", BatchStatus.VALIDATING.wire())
                    .bind("at", at)
                    .bind("errors", text)
                    .bind("tenant", tenant)
                    .bind("id", batchId)
                    .execute())
        == 1;
  }

  /** Removes a batch whose workflow could not be started, so no orphan row stays behind. */
  @Override
  public void deleteBatch(String tenant, String batchId) {
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate("DELETE FROM batches WHERE tenant = :tenant AND id = :id")
                .bind("tenant", tenant)
                .bind("id", batchId)
                .execute());
  }

  @Override
  public Optional<BatchRecord> findBatch(String tenant, String batchId) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(BATCH_SELECT + " WHERE b.tenant = :tenant AND b.id = :id")
                .bind("tenant", tenant)
                .bind("id", batchId)
                .map((rs, ctx) -> batchRow(rs))
                .findOne());
  }

  /** Newest first; empty when the cursor names no batch of this tenant. */
  @Override
  public Optional<List<BatchRecord>> listBatches(String tenant, String afterId, int limit) {
    return jdbi.withHandle(
        handle -> {
          Long afterSeq = null;
          if (afterId != null) {
            Optional<Long> seq = cursorSeq(handle, "batches", tenant, afterId);
            if (seq.isEmpty()) {
              return Optional.empty();
            }
            afterSeq = seq.get();
          }
          Query query =
              handle
                  .createQuery(
                      BATCH_SELECT
                          + " WHERE b.tenant = :tenant"
                          + (afterSeq == null ? "" : " AND b.seq < :after")
                          + " ORDER BY b.seq DESC LIMIT :limit")
                  .bind("tenant", tenant)
                  .bind("limit", limit + 1);
          if (afterSeq != null) {
            query.bind("after", afterSeq);
          }
          return Optional.of(query.map((rs, ctx) -> batchRow(rs)).list());
        });
  }

  @Override
  public Optional<BatchStatus> batchStatus(String tenant, String batchId) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery("SELECT status FROM batches WHERE tenant = :tenant AND id = :id")
                .bind("tenant", tenant)
                .bind("id", batchId)
                .mapTo(String.class)
                .findOne()
                .map(BatchStatus::fromWire));
  }

  /** One indexed read: the batch row and the sum of its chunks' progress rows. */
  @Override
  public Optional<BatchControl> batchControl(String tenant, String batchId) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT b.status, b.priority, b.total_requests, b.in_progress_at,"
                        + " (SELECT COALESCE(SUM(c.completed + c.failed), 0) FROM batch_chunks c"
                        + " WHERE c.batch_id = b.id) AS done"
                        + " FROM batches b WHERE b.tenant = :tenant AND b.id = :id")
                .bind("tenant", tenant)
                .bind("id", batchId)
                .map(
                    (rs, ctx) ->
                        new BatchControl(
                            BatchStatus.fromWire(rs.getString("status")),
                            rs.getInt("priority"),
                            new BatchPace(
                                rs.getLong("total_requests"),
                                rs.getLong("done"),
                                rs.getLong("in_progress_at"))))
                .findOne());
  }

  @Override
  public Map<String, String> batchMetadata(String tenant, String batchId) {
    Optional<String> text =
        jdbi.withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT metadata FROM batches WHERE tenant = :tenant AND id = :id"
                            + " AND metadata IS NOT NULL")
                    .bind("tenant", tenant)
                    .bind("id", batchId)
                    .mapTo(String.class)
                    .findOne());
    if (text.isEmpty()) {
      return Map.of();
    }
    try {
      Map<String, String> metadata = json.readValue(text.get(), STRING_MAP);
      return metadata == null ? Map.of() : metadata;
    } catch (JsonProcessingException e) {
      log.warn("Batch {} has unreadable metadata; ignoring it: {}", batchId, e.getMessage());
      return Map.of();
    }
  }

  @Override
  public boolean transitionStatus(
      String tenant, String batchId, BatchStatus next, long atEpochSeconds) {
    return jdbi.withHandle(handle -> transition(handle, tenant, batchId, next, atEpochSeconds));
  }

  /**
   * Compare-and-set on the status; the timestamp never precedes an earlier one of the batch, even
   * when workers' clocks disagree.
   */
  private static boolean transition(
      Handle handle, String tenant, String batchId, BatchStatus next, long at) {
    List<String> from =
        Arrays.stream(BatchStatus.values())
            .filter(status -> status.canMoveTo(next))
            .map(BatchStatus::wire)
            .toList();
    if (from.isEmpty()) {
      return false;
    }
    String column = next.wire() + "_at";
    return handle
            .createUpdate(
                "UPDATE batches SET status = :next, "
                    + column
                    + " = GREATEST(:at, created_at, COALESCE(in_progress_at, 0),"
                    + " COALESCE(finalizing_at, 0), COALESCE(cancelling_at, 0))"
                    + " WHERE tenant = :tenant AND id = :id AND status IN (<from>)")
            .bind("next", next.wire())
            .bind("at", at)
            .bind("tenant", tenant)
            .bind("id", batchId)
            .bindList("from", from)
            .execute()
        > 0;
  }

  @Override
  public void recordPlan(String tenant, String batchId, long totalLines, String model) {
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate(
                    "UPDATE batches SET total_requests = :total, model = :model"
                        + " WHERE tenant = :tenant AND id = :id")
                .bind("total", totalLines)
                .bind("model", model)
                .bind("tenant", tenant)
                .bind("id", batchId)
                .execute());
  }

  @Override
  public void recordErrors(String tenant, String batchId, List<BatchError> errors) {
    String text;
    try {
      text = json.writeValueAsString(errors);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Validation errors are plain records", e);
    }
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate(
                    "UPDATE batches SET errors = :errors WHERE tenant = :tenant AND id = :id")
                .bind("errors", text)
                .bind("tenant", tenant)
                .bind("id", batchId)
                .execute());
  }

  @Override
  public void recordPriority(String tenant, String batchId, int priority) {
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate(
                    "UPDATE batches SET priority = :priority WHERE tenant = :tenant AND id = :id")
                .bind("priority", priority)
                .bind("tenant", tenant)
                .bind("id", batchId)
                .execute());
  }

  @Override
  public void recordChunkProgress(
      String tenant, String batchId, int chunkIndex, ChunkProgress progress) {
    Usage usage = progress.usage();
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate(
                    """
                    INSERT INTO batch_chunks (batch_id, chunk_index, completed, failed,
                        input_tokens, cached_tokens, output_tokens, reasoning_tokens, total_tokens)
                    SELECT id, :chunk, :completed, :failed, :input, :cached, :output, :reasoning, :total
                      FROM batches WHERE tenant = :tenant AND id = :id
                    ON CONFLICT (batch_id, chunk_index) DO UPDATE SET
                        completed = EXCLUDED.completed, failed = EXCLUDED.failed,
                        input_tokens = EXCLUDED.input_tokens, cached_tokens = EXCLUDED.cached_tokens,
                        output_tokens = EXCLUDED.output_tokens,
                        reasoning_tokens = EXCLUDED.reasoning_tokens,
                        total_tokens = EXCLUDED.total_tokens
                    """)
                .bind("chunk", chunkIndex)
                .bind("completed", progress.completed())
                .bind("failed", progress.failed())
                .bind("input", usage.inputTokens())
                .bind("cached", usage.cachedTokens())
                .bind("output", usage.outputTokens())
                .bind("reasoning", usage.reasoningTokens())
                .bind("total", usage.totalTokens())
                .bind("tenant", tenant)
                .bind("id", batchId)
                .execute());
  }

  @Override
  public Optional<FinalizeResult> finalResult(String tenant, String batchId) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT status, total_requests, completed_requests, failed_requests,"
                        + " output_file_id, error_file_id FROM batches"
                        + " WHERE tenant = :tenant AND id = :id")
                .bind("tenant", tenant)
                .bind("id", batchId)
                .map(
                    (rs, ctx) ->
                        BatchStatus.fromWire(rs.getString("status")).isTerminal()
                            ? Optional.of(
                                new FinalizeResult(
                                    new RequestCounts(
                                        rs.getLong("total_requests"),
                                        rs.getLong("completed_requests"),
                                        rs.getLong("failed_requests")),
                                    rs.getString("output_file_id"),
                                    rs.getString("error_file_id")))
                            : Optional.<FinalizeResult>empty())
                .findOne()
                .flatMap(result -> result));
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
    jdbi.useTransaction(
        handle -> {
          if (!transition(handle, tenant, batchId, terminal, atEpochSeconds)) {
            return;
          }
          if (outputFile != null) {
            insertFile(handle, outputFile, null);
          }
          if (errorFile != null) {
            insertFile(handle, errorFile, null);
          }
          handle
              .createUpdate(
                  """
                  UPDATE batches SET output_file_id = :output, error_file_id = :error,
                      total_requests = :total, completed_requests = :completed,
                      failed_requests = :failed, input_tokens = :input, cached_tokens = :cached,
                      output_tokens = :outputTokens, reasoning_tokens = :reasoning,
                      total_tokens = :totalTokens
                   WHERE tenant = :tenant AND id = :id
                  """)
              .bind("output", outputFile == null ? null : outputFile.id())
              .bind("error", errorFile == null ? null : errorFile.id())
              .bind("total", counts.total())
              .bind("completed", counts.completed())
              .bind("failed", counts.failed())
              .bind("input", usage.inputTokens())
              .bind("cached", usage.cachedTokens())
              .bind("outputTokens", usage.outputTokens())
              .bind("reasoning", usage.reasoningTokens())
              .bind("totalTokens", usage.totalTokens())
              .bind("tenant", tenant)
              .bind("id", batchId)
              .execute();
          // output_expires_after is anchored at each result file's own creation.
          handle
              .createUpdate(
                  """
                  UPDATE files f SET expires_at = f.created_at + b.output_expires_after
                    FROM batches b
                   WHERE b.tenant = :tenant AND b.id = :id AND b.output_expires_after IS NOT NULL
                     AND f.tenant = b.tenant AND f.id IN (b.output_file_id, b.error_file_id)
                  """)
              .bind("tenant", tenant)
              .bind("id", batchId)
              .execute();
        });
  }

  private static BatchRecord batchRow(ResultSet rs) throws SQLException {
    BatchStatus status = BatchStatus.fromWire(rs.getString("status"));
    boolean live =
        status == BatchStatus.IN_PROGRESS
            || status == BatchStatus.FINALIZING
            || status == BatchStatus.CANCELLING;
    String prefix = live ? "live_" : "";
    RequestCounts counts =
        new RequestCounts(
            rs.getLong("total_requests"),
            rs.getLong(live ? "live_completed" : "completed_requests"),
            rs.getLong(live ? "live_failed" : "failed_requests"));
    Usage usage =
        new Usage(
            rs.getLong(prefix + "input_tokens"),
            rs.getLong(prefix + "cached_tokens"),
            rs.getLong(prefix + "output_tokens"),
            rs.getLong(prefix + "reasoning_tokens"),
            rs.getLong(prefix + "total_tokens"));
    return new BatchRecord(
        rs.getString("id"),
        rs.getString("tenant"),
        rs.getString("endpoint"),
        rs.getString("input_file_id"),
        rs.getString("completion_window"),
        status,
        rs.getLong("created_at"),
        rs.getLong("expires_at"),
        nullableLong(rs, "in_progress_at"),
        nullableLong(rs, "finalizing_at"),
        nullableLong(rs, "completed_at"),
        nullableLong(rs, "failed_at"),
        nullableLong(rs, "expired_at"),
        nullableLong(rs, "cancelling_at"),
        nullableLong(rs, "cancelled_at"),
        rs.getString("output_file_id"),
        rs.getString("error_file_id"),
        rs.getString("model"),
        rs.getString("metadata"),
        rs.getString("errors"),
        rs.getInt("priority"),
        nullableLong(rs, "output_expires_after"),
        counts,
        usage);
  }

  private static Long nullableLong(ResultSet rs, String column) throws SQLException {
    long value = rs.getLong(column);
    return rs.wasNull() ? null : value;
  }
}
