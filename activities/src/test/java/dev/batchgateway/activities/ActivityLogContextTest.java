package dev.batchgateway.activities;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.chunk.ChunkRunner;
import dev.batchgateway.activities.limiter.LocalConcurrencyLimiter;
import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.port.ConcurrencyLimiter;
import dev.batchgateway.activities.store.FilesystemFileStore;
import dev.batchgateway.activities.testing.RecordingMetadataStore;
import dev.batchgateway.activities.testing.ScriptedInferenceClient;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.ChunkActivities;
import dev.batchgateway.workflows.ChunkOutcome;
import dev.batchgateway.workflows.ChunkTask;
import dev.batchgateway.workflows.StatusChange;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.testing.TestActivityEnvironment;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.MDC;

/**
 * The activities that run a batch log with its id and tenant in the logging context, and leave the
 * worker's thread as they found it.
 */
class ActivityLogContextTest {
  private static final String TENANT = "team-a";
  private static final String BATCH = "batch_log1";
  private static final String CHAT = "/v1/chat/completions";

  @TempDir Path root;
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);

  @AfterEach
  void tearDown() {
    scheduler.shutdownNow();
    MDC.clear();
  }

  @Test
  void aChunkSendsItsRequestsWithTheBatchAndTenantInTheContext() throws Exception {
    FilesystemFileStore store = new FilesystemFileStore(root);
    StringBuilder input = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      input
          .append("{\"custom_id\":\"r-")
          .append(i)
          .append("\",\"method\":\"POST\",\"url\":\"")
          .append(CHAT)
          .append("\",\"body\":{\"model\":\"m1\",\"user\":\"r-")
          .append(i)
          .append("\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}}\n");
    }
    store.write(
        StorageKeys.chunkInput(TENANT, BATCH, 0),
        new ByteArrayInputStream(input.toString().getBytes(StandardCharsets.UTF_8)),
        1 << 20);
    // Answers arrive on another thread, as they do from the HTTP client's event loop.
    ScriptedInferenceClient client = new ScriptedInferenceClient();
    for (int i = 0; i < 3; i++) {
      client.script("r-" + i, ScriptedInferenceClient.ok().delayed(20));
    }
    RecordingMetadataStore metadata = new RecordingMetadataStore();
    List<String[]> answered = new CopyOnWriteArrayList<>();
    LocalConcurrencyLimiter local = new LocalConcurrencyLimiter(4);
    // Records, for each answered request, the thread and the batch its answer was handled with.
    ConcurrencyLimiter recording =
        (request, maxWait) ->
            local
                .acquire(request, maxWait)
                .map(
                    permit ->
                        new ConcurrencyLimiter.Permit() {
                          @Override
                          public void onSuccess(long latencyNanos) {
                            answered.add(
                                new String[] {
                                  Thread.currentThread().getName(),
                                  MDC.get(LogContext.BATCH_ID),
                                  MDC.get(LogContext.TENANT)
                                });
                            permit.onSuccess(latencyNanos);
                          }

                          @Override
                          public void onDropped() {
                            permit.onDropped();
                          }

                          @Override
                          public void onIgnore() {
                            permit.onIgnore();
                          }
                        });
    ChunkRunner runner =
        new ChunkRunner(
            new ObjectMapper(),
            store,
            metadata,
            client,
            recording,
            BatchSettings.defaults(),
            scheduler,
            new MetricRegistry());
    TestActivityEnvironment env = TestActivityEnvironment.newInstance();
    try {
      env.registerActivitiesImplementations(
          new ChunkActivitiesImpl(runner, metadata, Clock.systemUTC()));
      ChunkActivities activities =
          env.newActivityStub(
              ChunkActivities.class,
              ActivityOptions.newBuilder()
                  .setStartToCloseTimeout(Duration.ofSeconds(30))
                  .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build())
                  .build());

      ChunkOutcome outcome =
          activities.runChunk(new ChunkTask(BATCH, TENANT, CHAT, 0, 0, Long.MAX_VALUE));

      assertThat(outcome.completed()).isEqualTo(3);
      assertThat(client.logContexts())
          .hasSize(3)
          .allSatisfy(
              context ->
                  assertThat(context)
                      .containsEntry(LogContext.BATCH_ID, BATCH)
                      .containsEntry(LogContext.TENANT, TENANT));
      assertThat(answered)
          .hasSize(3)
          .allSatisfy(
              seen -> assertThat(new String[] {seen[1], seen[2]}).containsExactly(BATCH, TENANT));
      assertThat(answered)
          .as("answers handled off the activity's thread")
          .anySatisfy(seen -> assertThat(seen[0]).doesNotStartWith("Activity"));
    } finally {
      env.close();
    }
  }

  @Test
  void aStatusWriteCarriesTheBatchAndPutsTheThreadBack() throws Exception {
    RecordingMetadataStore metadata = new RecordingMetadataStore();
    metadata.statuses.put(BATCH, BatchStatus.VALIDATING);
    BatchLifecycleActivitiesImpl activities =
        new BatchLifecycleActivitiesImpl(
            new ObjectMapper(),
            metadata,
            new FilesystemFileStore(root),
            null,
            BatchSettings.defaults(),
            Clock.systemUTC());
    MDC.put("worker", "w1");

    activities.recordStatus(new StatusChange(BATCH, TENANT, BatchStatus.IN_PROGRESS));

    assertThat(metadata.statuses.get(BATCH)).isEqualTo(BatchStatus.IN_PROGRESS);
    assertThat(metadata.transitionLogContexts)
        .containsExactly(
            Map.of(LogContext.BATCH_ID, BATCH, LogContext.TENANT, TENANT, "worker", "w1"));
    assertThat(MDC.getCopyOfContextMap()).isEqualTo(Map.of("worker", "w1"));
  }
}
