package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.cleanup.CleanupActivitiesImpl;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.model.Ids;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.store.FilesystemFileStore;
import dev.batchgateway.service.db.JdbiCleanupStore;
import dev.batchgateway.service.db.JdbiMetadataStore;
import dev.batchgateway.service.model.BatchRecord;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.RequestCounts;
import dev.batchgateway.workflows.cleanup.CleanupRequest;
import dev.batchgateway.workflows.cleanup.CleanupWorkflow;
import dev.batchgateway.workflows.cleanup.CleanupWorkflowImpl;
import io.dropwizard.jackson.Jackson;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cleanup workflow in Temporal's time-skipping test environment, with its real activities
 * against the test stack's PostgreSQL and a filesystem store: files with the shortest allowed
 * expiry disappear, rows and bytes, once workflow time passes it; everything live stays, and so
 * does an expired input of a batch still running. Each test runs in a fresh schema of its own.
 */
class CleanupWorkflowIT {
  private static final long HOUR = 3600;
  private static final long DAY = 24 * HOUR;
  private static final String QUEUE = "cleanup-it";
  private static final CleanupRequest REQUEST = new CleanupRequest(2, 50, 5 * DAY, HOUR);

  private static final String SCHEMA =
      "cleanup_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

  private final String tenant = TestStack.uniqueTenant("cleanup");
  private final MetricRegistry metrics = new MetricRegistry();
  private TestWorkflowEnvironment env;
  private Jdbi jdbi;
  private JdbiMetadataStore metadata;
  private FileStore store;
  private long t0;

  @BeforeEach
  void setUp(@TempDir Path dir) throws IOException {
    String url = TestStack.env("BGW_TEST_DB_URL");
    String user = TestStack.env("BGW_TEST_DB_USER");
    String password = TestStack.env("BGW_TEST_DB_PASSWORD");
    // A schema of its own: a pass cleans every tenant, and with skipped time it would reach
    // into the rows of the other tests that share this database.
    Flyway.configure().dataSource(url, user, password).schemas(SCHEMA).load().migrate();
    jdbi =
        Jdbi.create(
            url + (url.contains("?") ? "&" : "?") + "currentSchema=" + SCHEMA, user, password);
    metadata = new JdbiMetadataStore(jdbi, Jackson.newObjectMapper());
    store = new FilesystemFileStore(dir);
    env = TestWorkflowEnvironment.newInstance();
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(CleanupWorkflowImpl.class);
    worker.registerActivitiesImplementations(
        new CleanupActivitiesImpl(new JdbiCleanupStore(jdbi), store, Clock.systemUTC(), metrics));
    env.start();
    t0 = env.currentTimeMillis() / 1000;
  }

  @AfterEach
  void tearDown() {
    env.close();
    jdbi.useHandle(handle -> handle.execute("DROP SCHEMA " + SCHEMA + " CASCADE"));
  }

  private void runPass() {
    env.getWorkflowClient()
        .newWorkflowStub(
            CleanupWorkflow.class, WorkflowOptions.newBuilder().setTaskQueue(QUEUE).build())
        .run(REQUEST);
  }

  private String file(String purpose, Long expiresAt) throws IOException {
    String id = Ids.newFileId();
    String key = StorageKeys.file(tenant, id);
    store.write(key, new ByteArrayInputStream("{}\n".getBytes(StandardCharsets.UTF_8)), 100);
    metadata.insertFile(
        new FileRecord(id, tenant, "f.jsonl", purpose, 3, t0, expiresAt, "processed", key));
    return id;
  }

  /** A batch row in the given state, with a work folder holding one chunk input. */
  private String batch(String inputFileId, String status, Long endedAt) throws IOException {
    String id = Ids.newBatchId();
    String endedColumn = endedAt == null ? "in_progress_at" : status + "_at";
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate(
                    "INSERT INTO batches (id, tenant, endpoint, input_file_id, completion_window,"
                        + " status, created_at, expires_at, "
                        + endedColumn
                        + ") VALUES (:id, :tenant, '/v1/chat/completions', :input, '24h', :status,"
                        + " :created, :expires, :ended)")
                .bind("id", id)
                .bind("tenant", tenant)
                .bind("input", inputFileId)
                .bind("status", status)
                .bind("created", t0 - 20 * DAY)
                .bind("expires", t0 + DAY)
                .bind("ended", endedAt == null ? t0 : endedAt)
                .execute());
    store.write(
        StorageKeys.chunkInput(tenant, id, 0),
        new ByteArrayInputStream("{}\n".getBytes(StandardCharsets.UTF_8)),
        100);
    return id;
  }

  private boolean fileDeleted(String id) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery("SELECT deleted_at IS NOT NULL FROM files WHERE id = :id")
                .bind("id", id)
                .mapTo(Boolean.class)
                .one());
  }

  private boolean batchExists(String id) {
    return jdbi.withHandle(
        handle ->
            handle
                    .createQuery("SELECT count(*) FROM batches WHERE id = :id")
                    .bind("id", id)
                    .mapTo(Integer.class)
                    .one()
                == 1);
  }

  private boolean bytesStored(String fileId) throws IOException {
    return store.exists(StorageKeys.file(tenant, fileId));
  }

  private boolean workStored(String batchId) throws IOException {
    return !store.list(StorageKeys.batchRoot(tenant, batchId)).isEmpty();
  }

  @Test
  void expiredFilesAndOldBatchesGoAsWorkflowTimePassesAndLiveOnesStay() throws Exception {
    String shortLived = file("batch", t0 + HOUR);
    // Far off: the test server may skip further than asked, and that is not what is tested.
    String farOff = file("batch", t0 + 100 * 365 * DAY);
    String forever = file("user_data", null);
    String neededInput = file("batch", t0 + HOUR);
    String deletedByUser = file("batch", t0 + 30 * DAY);
    jdbi.useHandle(
        handle ->
            handle.execute("UPDATE files SET deleted_at = ? WHERE id = ?", t0, deletedByUser));
    String oldBatch = batch(farOff, "completed", t0 - 10 * DAY);
    String recentBatch = batch(farOff, "cancelled", t0 - 60);
    String running = batch(neededInput, "in_progress", null);

    runPass();

    assertThat(bytesStored(deletedByUser)).as("bytes of a file the user deleted").isFalse();
    assertThat(batchExists(oldBatch)).as("batch ended 10 days ago, retention 5").isFalse();
    assertThat(workStored(oldBatch)).isFalse();
    assertThat(workStored(recentBatch)).as("ended a minute ago, grace one hour").isTrue();
    assertThat(batchExists(recentBatch)).as("inside its retention").isTrue();
    assertThat(fileDeleted(shortLived)).as("not expired yet").isFalse();
    assertThat(bytesStored(shortLived)).isTrue();

    env.sleep(Duration.ofHours(2));
    runPass();

    assertThat(fileDeleted(shortLived)).isTrue();
    assertThat(bytesStored(shortLived)).isFalse();
    assertThat(workStored(recentBatch)).isFalse();
    assertThat(fileDeleted(neededInput)).as("expired, but a running batch reads it").isFalse();
    assertThat(bytesStored(neededInput)).isTrue();
    assertThat(workStored(running)).isTrue();
    assertThat(batchExists(running)).isTrue();
    for (String live : new String[] {farOff, forever}) {
      assertThat(fileDeleted(live)).as(live).isFalse();
      assertThat(bytesStored(live)).as(live).isTrue();
    }

    // The running batch ends: its expired input goes on the next pass.
    jdbi.useHandle(
        handle ->
            handle.execute(
                "UPDATE batches SET status = 'completed', completed_at = ? WHERE id = ?",
                t0,
                running));
    runPass();
    assertThat(fileDeleted(neededInput)).isTrue();
    assertThat(bytesStored(neededInput)).isFalse();

    assertThat(metrics.meter("batch_gateway_cleanup_files_expired_total").getCount())
        .isGreaterThanOrEqualTo(2);
    assertThat(metrics.meter("batch_gateway_cleanup_files_purged_total").getCount())
        .isGreaterThanOrEqualTo(3);
    assertThat(metrics.meter("batch_gateway_cleanup_batch_work_purged_total").getCount())
        .isGreaterThanOrEqualTo(2);
    assertThat(metrics.meter("batch_gateway_cleanup_batches_deleted_total").getCount())
        .isGreaterThanOrEqualTo(1);
  }

  @Test
  void aPassRepeatedChangesNothingMore() throws Exception {
    String expired = file("batch", t0 - 10);
    String live = file("batch", t0 + 100 * 365 * DAY);
    runPass();
    long expiredCount = metrics.meter("batch_gateway_cleanup_files_expired_total").getCount();
    assertThat(fileDeleted(expired)).isTrue();

    runPass();

    assertThat(metrics.meter("batch_gateway_cleanup_files_expired_total").getCount())
        .isEqualTo(expiredCount);
    assertThat(fileDeleted(live)).isFalse();
    assertThat(bytesStored(live)).isTrue();
    assertThat(bytesStored(expired)).isFalse();
  }

  /** What BatchesResource inserts for a new batch on {@code inputFileId}. */
  private BatchRecord newBatch(String inputFileId) {
    return new BatchRecord(
        Ids.newBatchId(),
        tenant,
        "/v1/chat/completions",
        inputFileId,
        "24h",
        BatchStatus.VALIDATING,
        t0,
        t0 + DAY,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        0,
        null,
        RequestCounts.ZERO,
        Usage.ZERO);
  }

  @Test
  void aBatchCreateAndCleanupNeverBothWinOneFile() throws Exception {
    JdbiCleanupStore cleanup = new JdbiCleanupStore(jdbi);

    // Cleanup first: the create that comes after finds its input gone and inserts nothing.
    String lost = file("batch", t0 - 10);
    assertThat(cleanup.expireFiles(t0, 10)).isEqualTo(1);
    BatchRecord late = newBatch(lost);
    assertThat(metadata.insertBatch(late)).isFalse();
    assertThat(batchExists(late.id())).isFalse();

    // A create holding its input's row (between its lock and its commit): cleanup skips the file.
    String held = file("batch", t0 - 10);
    try (var create = jdbi.open()) {
      create.begin();
      create.execute("SELECT id FROM files WHERE id = ? FOR SHARE", held);
      assertThat(cleanup.expireFiles(t0, 10)).isZero();
      create.rollback();
    }
    // Once that create committed its batch, the file is its input and stays.
    BatchRecord kept = newBatch(held);
    assertThat(metadata.insertBatch(kept)).isTrue();
    assertThat(cleanup.expireFiles(t0, 10)).isZero();
    assertThat(fileDeleted(held)).isFalse();
  }
}
