package dev.batchgateway.activities.chunk;

import static dev.batchgateway.activities.testing.ScriptedInferenceClient.fail;
import static dev.batchgateway.activities.testing.ScriptedInferenceClient.hang;
import static dev.batchgateway.activities.testing.ScriptedInferenceClient.ok;
import static dev.batchgateway.activities.testing.ScriptedInferenceClient.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.OutageSettings;
import dev.batchgateway.activities.limiter.LocalConcurrencyLimiter;
import dev.batchgateway.activities.metrics.BucketHistogram;
import dev.batchgateway.activities.model.BatchControl;
import dev.batchgateway.activities.model.ChunkProgress;
import dev.batchgateway.activities.model.ErrorText;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.activities.port.BatchPace;
import dev.batchgateway.activities.port.ConcurrencyLimiter;
import dev.batchgateway.activities.port.InferenceClient;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.activities.port.RequestContext;
import dev.batchgateway.activities.port.ResponseTooLargeException;
import dev.batchgateway.activities.store.FilesystemFileStore;
import dev.batchgateway.activities.testing.RecordingMetadataStore;
import dev.batchgateway.activities.testing.ScriptedInferenceClient;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.ChunkOutcome;
import dev.batchgateway.workflows.ChunkTask;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkRunnerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TENANT = "t1";
  private static final String BATCH = "batch_1";
  private static final String CHAT = "/v1/chat/completions";
  private static final int MAX_ATTEMPTS = 3;
  private static final int PERMITS = 8;
  private static final Usage ONE_OK = new Usage(10, 0, 5, 0, 15);
  private static final String BAD_REQUEST =
      "{\"error\":{\"message\":\"max_tokens is too large\",\"type\":\"invalid_request_error\","
          + "\"param\":\"max_tokens\",\"code\":null}}";

  @TempDir Path root;
  private FilesystemFileStore store;
  private RecordingMetadataStore metadata;
  private LocalConcurrencyLimiter limiter;
  private MetricRegistry metrics;
  private ScheduledExecutorService scheduler;

  @BeforeEach
  void setUp() throws IOException {
    store = new FilesystemFileStore(root);
    metadata = new RecordingMetadataStore();
    limiter = new LocalConcurrencyLimiter(PERMITS);
    metrics = new MetricRegistry();
    scheduler = Executors.newScheduledThreadPool(2);
  }

  @AfterEach
  void tearDown() {
    scheduler.shutdownNow();
  }

  /** Records checkpoints and reports a stop once {@code stopAfter} of them happened. */
  private static final class Control implements ChunkControl {
    private final int stopAfter;
    final List<long[]> checkpoints = new CopyOnWriteArrayList<>();

    Control(int stopAfter) {
      this.stopAfter = stopAfter;
    }

    static Control neverStop() {
      return new Control(Integer.MAX_VALUE);
    }

    @Override
    public void checkpoint(int segmentsDone, long linesDone) {
      checkpoints.add(new long[] {segmentsDone, linesDone});
    }

    @Override
    public boolean stopRequested() {
      return checkpoints.size() >= stopAfter;
    }
  }

  /** One saved entry, its result line parsed. */
  private record Saved(String key, int index, boolean success, JsonNode line) {
    String customId() {
      return line.get("custom_id").asText();
    }
  }

  private static BatchSettings settings(int segmentLines, int concurrency) {
    return new BatchSettings(
        100,
        segmentLines,
        50_000,
        10,
        256,
        concurrency,
        MAX_ATTEMPTS,
        Duration.ofMillis(1),
        Duration.ofMillis(5),
        Duration.ofMillis(20));
  }

  private static final Duration PROBE = Duration.ofMillis(10);

  private ChunkRunner runner(ScriptedInferenceClient client, BatchSettings settings) {
    return new ChunkRunner(JSON, store, metadata, client, limiter, settings, scheduler, metrics);
  }

  private ChunkRunner runner(
      ScriptedInferenceClient client, BatchSettings settings, OutageSettings outage) {
    return new ChunkRunner(
        JSON, store, metadata, client, limiter, settings, outage, scheduler, metrics);
  }

  private static ChunkTask task() {
    return new ChunkTask(BATCH, TENANT, CHAT, 0, 0, Long.MAX_VALUE);
  }

  private static List<String> ids(int count) {
    return IntStream.range(0, count).mapToObj(i -> "r-" + i).toList();
  }

  private static String inputLine(String customId) {
    return "{\"custom_id\":\""
        + customId
        + "\",\"method\":\"POST\",\"url\":\""
        + CHAT
        + "\",\"body\":{\"model\":\"m1\",\"user\":\""
        + customId
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"question\"}]}}";
  }

  private void writeChunk(List<String> customIds) throws IOException {
    StringBuilder text = new StringBuilder();
    for (String id : customIds) {
      text.append(inputLine(id)).append('\n');
    }
    store.write(
        StorageKeys.chunkInput(TENANT, BATCH, 0),
        new ByteArrayInputStream(text.toString().getBytes(StandardCharsets.UTF_8)),
        1 << 30);
  }

  private List<String> segmentKeys() throws IOException {
    return store.list(StorageKeys.chunkRoot(TENANT, BATCH, 0)).stream()
        .filter(key -> key.contains("/seg-"))
        .toList();
  }

  private String segmentKey(int segment) {
    return StorageKeys.segment(TENANT, BATCH, 0, segment);
  }

  private String partialKey(int segment) {
    return StorageKeys.partialSegment(TENANT, BATCH, 0, segment);
  }

  /** The entries of a segment, read as the finalizer reads them: checked against its checksum. */
  private List<Saved> read(String key) throws IOException {
    List<Saved> saved = new ArrayList<>();
    try (InputStream in = store.open(key)) {
      Segment.readChecked(
          JSON,
          in,
          (index, success, line) -> saved.add(new Saved(key, index, success, JSON.readTree(line))));
    }
    return saved;
  }

  private Segment.Summary summary(String key) throws IOException {
    try (InputStream in = store.open(key)) {
      return Segment.read(JSON, in, null);
    }
  }

  private List<Saved> readAll(List<String> keys) throws IOException {
    List<Saved> all = new ArrayList<>();
    for (String key : keys) {
      all.addAll(read(key));
    }
    return all;
  }

  private List<Saved> completeEntries() throws IOException {
    return readAll(segmentKeys().stream().filter(k -> !StorageKeys.isPartialSegment(k)).toList());
  }

  private Saved entryFor(String customId) throws IOException {
    return completeEntries().stream()
        .filter(saved -> saved.customId().equals(customId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no saved entry for " + customId));
  }

  private static void assertEachIndexOnce(List<Saved> entries, int lines) {
    assertThat(entries).extracting(Saved::index).containsExactlyInAnyOrderElementsOf(range(lines));
    for (Saved saved : entries) {
      assertThat(saved.customId()).isEqualTo("r-" + saved.index());
    }
  }

  private static List<Integer> range(int count) {
    return IntStream.range(0, count).boxed().toList();
  }

  @Test
  void whenEveryLineSucceedsAllSegmentsAreSavedWithHeaders() throws Exception {
    writeChunk(ids(5));
    ScriptedInferenceClient client = new ScriptedInferenceClient();
    Control control = Control.neverStop();

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), control);

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 5, 0));
    assertThat(segmentKeys()).containsExactly(segmentKey(0), segmentKey(1), segmentKey(2));
    assertThat(summary(segmentKey(0))).isEqualTo(new Segment.Summary(2, 0, ONE_OK.plus(ONE_OK)));
    assertThat(summary(segmentKey(2))).isEqualTo(new Segment.Summary(1, 0, ONE_OK));
    for (String key : segmentKeys()) {
      String firstLine;
      try (InputStream in = store.open(key)) {
        firstLine = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")[0];
      }
      assertThat(JSON.readTree(firstLine).has("completed")).as("header of %s", key).isTrue();
    }
    List<Saved> entries = completeEntries();
    assertEachIndexOnce(entries, 5);
    for (Saved saved : entries) {
      assertThat(saved.success()).isTrue();
      assertThat(saved.line().at("/response/status_code").asInt()).isEqualTo(200);
      assertThat(saved.line().at("/response/request_id").asText())
          .isEqualTo("req-" + saved.customId() + "-1");
      assertThat(saved.line().at("/response/body/usage/total_tokens").asInt()).isEqualTo(15);
      assertThat(saved.line().get("error").isNull()).isTrue();
    }
    assertThat(client.calls()).containsExactlyInAnyOrderElementsOf(ids(5));
    assertThat(control.checkpoints).hasSize(3);
    assertThat(control.checkpoints.get(2)).containsExactly(3, 5);
    Usage five = ONE_OK.plus(ONE_OK).plus(ONE_OK).plus(ONE_OK).plus(ONE_OK);
    assertThat(metadata.progress.getLast().progress()).isEqualTo(new ChunkProgress(5, 0, five));
    assertThat(limiter.available("pool-m1")).isEqualTo(PERMITS);
  }

  @Test
  void permitRequestsCarryTheBatchsLatestPriorityAndPace() throws Exception {
    writeChunk(ids(3));
    List<PermitRequest> asked = new CopyOnWriteArrayList<>();
    ConcurrencyLimiter recording =
        (request, maxWait) -> {
          asked.add(request);
          return limiter.acquire(request, maxWait);
        };
    BatchPace pace = new BatchPace(300, 120, 1_000);
    ChunkControl reprioritized =
        new ChunkControl() {
          @Override
          public void checkpoint(int segmentsDone, long linesDone) {}

          @Override
          public boolean stopRequested() {
            return false;
          }

          @Override
          public Optional<BatchControl> latest() {
            return Optional.of(new BatchControl(BatchStatus.IN_PROGRESS, 9, pace));
          }
        };

    new ChunkRunner(
            JSON,
            store,
            metadata,
            new ScriptedInferenceClient(),
            recording,
            settings(2, 4),
            scheduler,
            metrics)
        .run(task(), reprioritized);

    assertThat(asked).hasSize(3).allMatch(r -> r.priority() == 9 && r.pace().equals(pace));
  }

  @Test
  void aLineRateLimitedTwiceEndsInTheOutput() throws Exception {
    writeChunk(ids(4));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script(
                "r-1",
                status(429, "{\"error\":{\"message\":\"slow down\"}}").retryAfter(1),
                status(429, "{\"error\":{\"message\":\"slow down\"}}"),
                ok());

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 4, 0));
    assertThat(client.attempts("r-1")).isEqualTo(3);
    assertThat(client.attempts("r-0")).isEqualTo(1);
    Saved saved = entryFor("r-1");
    assertThat(saved.success()).isTrue();
    assertThat(saved.line().at("/response/status_code").asInt()).isEqualTo(200);
    assertThat(saved.line().at("/response/request_id").asText()).isEqualTo("req-r-1-3");
    assertThat(metrics.counter("batch_gateway_request_retries_total").getCount()).isEqualTo(2);
    assertThat(metrics.counter("batch_gateway_requests_total[result=succeeded]").getCount())
        .isEqualTo(4);
    assertThat(
            metrics
                .counter("batch_gateway_inference_requests_total[pool=pool-m1,outcome=overloaded]")
                .getCount())
        .isEqualTo(2);
    assertThat(
            metrics
                .counter("batch_gateway_inference_requests_total[pool=pool-m1,outcome=success]")
                .getCount())
        .isEqualTo(4);
    assertThat(histogram("batch_gateway_inference_request_duration_seconds[pool=pool-m1]"))
        .isEqualTo(6);
    assertThat(histogram("batch_gateway_permit_wait_seconds[pool=pool-m1]")).isEqualTo(6);
    assertThat(metrics.counter("batch_gateway_chunks_ended_total[outcome=completed]").getCount())
        .isEqualTo(1);
    assertThat(metrics.getGauges().get("batch_gateway_chunks_running").getValue()).isEqualTo(0);
  }

  private long histogram(String name) {
    return ((BucketHistogram) metrics.getMetrics().get(name)).getCount();
  }

  @Test
  void aLineWaitingToBeRetriedHoldsNoPoolPermit() throws Exception {
    writeChunk(ids(2));
    limiter.setLimit("pool-m1", 1);
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script(
                "r-0",
                status(429, "{\"error\":{\"message\":\"slow down\"}}").retryAfter(1000),
                ok());

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 2, 0));
    assertThat(client.calls())
        .as("r-1 is sent with the only permit while r-0 waits out its Retry-After")
        .containsExactly("r-0", "r-1", "r-0");
    assertThat(limiter.outcomes("pool-m1").dropped()).isEqualTo(1);
    assertThat(limiter.outcomes("pool-m1").succeeded()).isEqualTo(2);
    assertThat(limiter.available("pool-m1")).isEqualTo(1);
  }

  @Test
  void aRequestTimeoutAnswerIsRetriedToo() throws Exception {
    writeChunk(ids(1));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient().script("r-0", status(408, "{\"error\":{}}"), ok());

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 1, 0));
    assertThat(client.attempts("r-0")).isEqualTo(2);
  }

  @Test
  void aBadRequestAnswerIsFinalAndKeepsTheBackendsBody() throws Exception {
    writeChunk(ids(4));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient().script("r-2", status(400, BAD_REQUEST));

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 3, 1));
    assertThat(client.attempts("r-2")).isEqualTo(1);
    Saved saved = entryFor("r-2");
    assertThat(saved.success()).isFalse();
    assertThat(saved.line().at("/response/status_code").asInt()).isEqualTo(400);
    assertThat(saved.line().at("/response/request_id").asText()).isEqualTo("req-r-2-1");
    assertThat(saved.line().at("/response/body")).isEqualTo(JSON.readTree(BAD_REQUEST));
    assertThat(saved.line().get("error").isNull()).isTrue();
    assertThat(summary(segmentKey(1))).isEqualTo(new Segment.Summary(1, 1, ONE_OK));
  }

  @Test
  void aServerErrorOnEveryAttemptIsTriedMaxAttemptsTimesThenSaved() throws Exception {
    writeChunk(ids(2));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient().script("r-0", status(500, "upstream exploded"));

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 1, 1));
    assertThat(client.attempts("r-0")).isEqualTo(MAX_ATTEMPTS);
    Saved saved = entryFor("r-0");
    assertThat(saved.success()).isFalse();
    assertThat(saved.line().at("/response/status_code").asInt()).isEqualTo(500);
    assertThat(saved.line().at("/response/body/error/message").asText())
        .isEqualTo("upstream exploded");
    assertThat(saved.line().at("/response/body/error/type").asText()).isEqualTo("server_error");
    assertThat(saved.line().get("error").isNull()).isTrue();
  }

  @Test
  void aServerErrorWithAJsonBodyKeepsThatBody() throws Exception {
    writeChunk(ids(1));
    String body = "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}";
    ScriptedInferenceClient client = new ScriptedInferenceClient().script("r-0", status(503, body));

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(client.attempts("r-0")).isEqualTo(MAX_ATTEMPTS);
    assertThat(entryFor("r-0").line().at("/response/body")).isEqualTo(JSON.readTree(body));
  }

  @Test
  void anUnreachableBackendIsRetriedBeyondMaxAttemptsUntilItAnswers() throws Exception {
    writeChunk(ids(2));
    ConnectException refused = new ConnectException("Connection refused");
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script(
                "r-1",
                fail(refused),
                fail(refused),
                fail(refused),
                fail(refused),
                fail(refused),
                fail(refused),
                ok());

    ChunkOutcome outcome =
        runner(client, settings(2, 4), new OutageSettings(Duration.ofMinutes(5), 2, PROBE))
            .run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 2, 0));
    assertThat(client.attempts("r-1")).isEqualTo(7).isGreaterThan(MAX_ATTEMPTS);
    assertThat(
            metrics.counter("batch_gateway_inference_circuit_opens_total[pool=pool-m1]").getCount())
        .isPositive();
    assertThat(
            metrics
                .getGauges()
                .get("batch_gateway_inference_circuit_state[pool=pool-m1]")
                .getValue())
        .isEqualTo(0);
  }

  @Test
  void anUnreachableBackendPastTheDeadlineReserveIsBackendUnreachable() throws Exception {
    writeChunk(ids(2));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script("r-1", fail(new ConnectException("Connection refused")));
    long deadline = System.currentTimeMillis() / 1000 + 60;

    ChunkOutcome outcome =
        runner(client, settings(2, 4), new OutageSettings(Duration.ofMinutes(5), 2, PROBE))
            .run(new ChunkTask(BATCH, TENANT, CHAT, 0, 0, deadline), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 1, 1));
    assertThat(client.attempts("r-1")).isEqualTo(1);
    Saved saved = entryFor("r-1");
    assertThat(saved.success()).isFalse();
    assertThat(saved.line().get("response").isNull()).isTrue();
    assertThat(saved.line().at("/error/code").asText()).isEqualTo("backend_unreachable");
    assertThat(saved.line().at("/error/message").asText())
        .contains("until the batch's deadline")
        .contains("Connection refused");
  }

  @Test
  void whileThePoolsCircuitIsOpenOnlyProbesAreSentAndNoPermitIsHeld() throws Exception {
    writeChunk(ids(20));
    AtomicBoolean down = new AtomicBoolean(true);
    AtomicInteger refusedSends = new AtomicInteger();
    AtomicInteger mostInFlightWhileOpen = new AtomicInteger();
    ScriptedInferenceClient scripted = new ScriptedInferenceClient();
    InferenceClient client =
        new InferenceClient() {
          @Override
          public CompletableFuture<InferenceResponse> send(InferenceRequest request) {
            if (down.get()) {
              refusedSends.incrementAndGet();
              return CompletableFuture.failedFuture(new ConnectException("Connection refused"));
            }
            return scripted.send(request);
          }

          @Override
          public Optional<String> poolFor(String model) {
            return scripted.poolFor(model);
          }
        };
    var sampler =
        scheduler.scheduleAtFixedRate(
            () -> {
              if (down.get() && refusedSends.get() >= 3) {
                mostInFlightWhileOpen.accumulateAndGet(limiter.inFlight("pool-m1"), Math::max);
              }
            },
            0,
            5,
            TimeUnit.MILLISECONDS);
    scheduler.schedule(() -> down.set(false), 500, TimeUnit.MILLISECONDS);

    ChunkOutcome outcome =
        new ChunkRunner(
                JSON,
                store,
                metadata,
                client,
                limiter,
                settings(5, 4),
                new OutageSettings(Duration.ofMinutes(5), 3, Duration.ofMillis(100)),
                scheduler,
                metrics)
            .run(task(), Control.neverStop());
    sampler.cancel(false);

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 20, 0));
    // Without the circuit the four lines in flight retry every few ms: hundreds of sends.
    assertThat(refusedSends.get()).isBetween(3, 15);
    assertThat(mostInFlightWhileOpen.get()).isLessThanOrEqualTo(1);
  }

  @Test
  void aDatabaseOutageNeitherStopsNorFailsTheChunkAndItsCountsAreWrittenWhenItIsBack()
      throws Exception {
    writeChunk(ids(10));
    metadata.progressDown = true;
    scheduler.schedule(() -> metadata.progressDown = false, 300, TimeUnit.MILLISECONDS);

    ChunkOutcome outcome =
        runner(new ScriptedInferenceClient(), settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 10, 0));
    assertEachIndexOnce(completeEntries(), 10);
    assertThat(metadata.progress.getLast().progress().completed()).isEqualTo(10);
  }

  @Test
  void aStopThatComesAfterEveryLineHasItsResultCutsNothingAndTheOutcomeIsReported()
      throws Exception {
    writeChunk(ids(10));
    // The live counts cannot be written, so the chunk waits after its last answer; the stop (an
    // expiry, say) comes then.
    metadata.progressDown = true;
    ScriptedInferenceClient client = new ScriptedInferenceClient();
    ChunkControl stopOnceAllAnswered =
        new ChunkControl() {
          @Override
          public void checkpoint(int segmentsDone, long linesDone) {}

          @Override
          public boolean stopRequested() {
            return store.exists(segmentKey(4));
          }
        };

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), stopOnceAllAnswered);

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 10, 0));
    assertEachIndexOnce(completeEntries(), 10);
    assertThat(segmentKeys()).noneMatch(StorageKeys::isPartialSegment).hasSize(5);
  }

  @Test
  void aResponseOverTheLimitIsResponseTooLargeAndNotRetried() throws Exception {
    writeChunk(ids(3));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script(
                "r-1",
                fail(new IOException("body", new ResponseTooLargeException(16 * 1024 * 1024))));

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 2, 1));
    assertThat(client.attempts("r-1")).isEqualTo(1);
    Saved saved = entryFor("r-1");
    assertThat(saved.success()).isFalse();
    assertThat(saved.line().get("response").isNull()).isTrue();
    assertThat(saved.line().at("/error/code").asText()).isEqualTo("response_too_large");
    assertThat(saved.line().at("/error/message").asText())
        .contains("batches.maxResponseSize")
        .contains("16777216 bytes");
    assertThat(entryFor("r-0").success()).isTrue();
    assertThat(entryFor("r-2").success()).isTrue();
    assertThat(limiter.available("pool-m1")).isEqualTo(PERMITS);
  }

  @Test
  void aTransportFailureThatRecoversIsNotAnError() throws Exception {
    writeChunk(ids(1));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient().script("r-0", fail(new ConnectException("refused")), ok());

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 1, 0));
    assertThat(client.attempts("r-0")).isEqualTo(2);
  }

  @Test
  void aBackendsJsonErrorKeepsItsShapeButNotItsHostsAddressesOrUrls() throws Exception {
    writeChunk(ids(1));
    String body =
        "{\"error\":{\"message\":\"upstream http://vllm-2.pool.svc:8000/v1/completions"
            + " (10.0.7.12:8000) overloaded\",\"type\":\"server_error\",\"code\":503,"
            + "\"details\":[\"node gpu-7.cluster.internal\"]}}";
    ScriptedInferenceClient client = new ScriptedInferenceClient().script("r-0", status(503, body));

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    JsonNode shown = entryFor("r-0").line().at("/response/body");
    assertThat(shown.at("/error/message").asText())
        .isEqualTo("upstream <url> (<address>) overloaded");
    assertThat(shown.at("/error/type").asText()).isEqualTo("server_error");
    assertThat(shown.at("/error/code").asInt()).isEqualTo(503);
    assertThat(shown.at("/error/details/0").asText()).isEqualTo("node <host>");
  }

  @Test
  void aBackendsTextErrorIsCleanedAndCut() throws Exception {
    writeChunk(ids(1));
    String body = "<html>502 Bad Gateway from proxy.corp.example.com " + "x".repeat(100_000);
    ScriptedInferenceClient client = new ScriptedInferenceClient().script("r-0", status(502, body));

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    Saved saved = entryFor("r-0");
    assertThat(saved.success()).isFalse();
    String message = saved.line().at("/response/body/error/message").asText();
    assertThat(message).startsWith("<html>502 Bad Gateway from <host> xxx").doesNotContain("proxy");
    assertThat(message.length()).isLessThan(BackendErrorBody.MAX_TEXT_CHARS + 100);
  }

  @Test
  void anExceptionMessageInAnErrorLineNamesNoHost() throws Exception {
    writeChunk(ids(1));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script(
                "r-0",
                fail(
                    new IOException(
                        "Connection reset by vllm-3.pool.svc.cluster.local/10.1.2.3:8000; "
                            + "y".repeat(10_000))));

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    String message = entryFor("r-0").line().at("/error/message").asText();
    assertThat(message)
        .contains("Connection reset by <host>/<address>")
        .doesNotContain("vllm-3")
        .doesNotContain("10.1.2.3");
    assertThat(message.length()).isLessThan(ErrorText.MAX_DETAIL_CHARS + 200);
  }

  @Test
  void aTimeoutOnEveryAttemptIsRequestTimeout() throws Exception {
    writeChunk(ids(2));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script("r-0", fail(new HttpTimeoutException("request timed out")));

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 1, 1));
    assertThat(client.attempts("r-0")).isEqualTo(MAX_ATTEMPTS);
    Saved saved = entryFor("r-0");
    assertThat(saved.line().get("response").isNull()).isTrue();
    assertThat(saved.line().at("/error/code").asText()).isEqualTo("request_timeout");
  }

  @Test
  void aTimeoutWrappedInACompletionExceptionIsStillRequestTimeout() throws Exception {
    writeChunk(ids(1));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script("r-0", fail(new CompletionException(new HttpTimeoutException("timed out"))));

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(entryFor("r-0").line().at("/error/code").asText()).isEqualTo("request_timeout");
  }

  /** Runs one line answered with {@code reply} and checks its segment has one line per entry. */
  private void assertSavedAsOneLine(ScriptedInferenceClient.Reply reply) throws Exception {
    writeChunk(ids(1));
    ScriptedInferenceClient client = new ScriptedInferenceClient().script("r-0", reply);

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    String text;
    try (InputStream in = store.open(segmentKey(0))) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    List<String> lines = List.of(text.split("\n"));
    assertThat(lines).as("header plus one line per entry").hasSize(2);
    assertThat(lines.get(1)).matches("[OE]\t0\t\\{.*\\}");
    assertEachIndexOnce(read(segmentKey(0)), 1);
  }

  @Test
  void aSegmentOfLargeAnswersIsChecksummedFromTheSpoolWithoutGatheringItInMemory()
      throws Exception {
    writeChunk(ids(4));
    // Two answers of 700 KB make a segment past IN_MEMORY_SEGMENT_BYTES; the others are small.
    String large =
        "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2},"
            + "\"choices\":[{\"message\":{\"content\":\""
            + "a".repeat(700 * 1024)
            + "\"}}]}";
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script("r-0", status(200, large))
            .script("r-1", status(200, large));

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    try (InputStream in = store.open(segmentKey(0))) {
      assertThat(in.readAllBytes().length).isGreaterThan((int) ChunkRunner.IN_MEMORY_SEGMENT_BYTES);
    }
    List<Saved> entries = completeEntries();
    assertEachIndexOnce(entries, 4);
    assertThat(entryFor("r-1").line().at("/response/body/choices/0/message/content").asText())
        .hasSize(700 * 1024);
  }

  @Test
  void aPrettyPrintedBodyIsSavedAsOneLine() throws Exception {
    String pretty =
        JSON.writerWithDefaultPrettyPrinter()
            .writeValueAsString(JSON.readTree(ScriptedInferenceClient.chatCompletion("hi")));

    assertSavedAsOneLine(status(200, pretty));
  }

  @Test
  void aBodyEndingInANewlineIsSavedAsOneLine() throws Exception {
    // Go's json.Encoder, used by many gateways and proxies, ends every body with a newline.
    assertSavedAsOneLine(status(400, BAD_REQUEST + "\n"));
  }

  @Test
  void liveCountsAreWrittenAtMostOnceASecondAndExactlyAtTheEnd() throws Exception {
    writeChunk(ids(20));
    ScriptedInferenceClient client = new ScriptedInferenceClient();
    for (int i = 0; i < 20; i++) {
      client.script("r-" + i, ok());
    }
    Control control = Control.neverStop();

    long start = System.nanoTime();
    runner(client, settings(3, 4)).run(task(), control);
    double seconds = (System.nanoTime() - start) / 1e9;

    // 7 segments of 3 lines, each checkpointed, but the counts written once a second at most
    // (the first segment may find a second gone since the runner started) and once at the end.
    assertThat(control.checkpoints).hasSize(7);
    assertThat(metadata.progress.size()).isLessThanOrEqualTo(2 + (int) seconds);
    assertThat(metadata.progress.getLast().progress().completed()).isEqualTo(20);
  }

  @Test
  void progressIsRecordedWithNonDecreasingCounts() throws Exception {
    writeChunk(ids(20));
    ScriptedInferenceClient client = new ScriptedInferenceClient();
    for (int i = 0; i < 20; i++) {
      client.script(
          "r-" + i, i % 5 == 0 ? status(400, BAD_REQUEST).delayed(i % 4) : ok().delayed(i % 4));
    }
    Control control = Control.neverStop();

    ChunkOutcome outcome = runner(client, settings(3, 4)).run(task(), control);

    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 16, 4));
    assertThat(metadata.progress).isNotEmpty();
    long completed = 0;
    long failed = 0;
    for (RecordingMetadataStore.ProgressCall call : metadata.progress) {
      assertThat(call.chunkIndex()).isZero();
      assertThat(call.progress().completed()).isGreaterThanOrEqualTo(completed);
      assertThat(call.progress().failed()).isGreaterThanOrEqualTo(failed);
      completed = call.progress().completed();
      failed = call.progress().failed();
    }
    assertThat(metadata.progress.getLast().progress().completed()).isEqualTo(16);
    assertThat(metadata.progress.getLast().progress().failed()).isEqualTo(4);
    assertThat(control.checkpoints).hasSize(7);
    for (int i = 0; i < control.checkpoints.size(); i++) {
      assertThat(control.checkpoints.get(i)[0]).isEqualTo(i + 1);
      if (i > 0) {
        assertThat(control.checkpoints.get(i)[1])
            .isGreaterThanOrEqualTo(control.checkpoints.get(i - 1)[1]);
      }
    }
    assertThat(control.checkpoints.getLast()[1]).isEqualTo(20);
    assertEachIndexOnce(completeEntries(), 20);
  }

  @Test
  void aRetriedAttemptSkipsSegmentsAlreadySaved() throws Exception {
    writeChunk(ids(5));
    List<Segment.Entry> entries =
        List.of(
            new Segment.Entry(
                0, true, OutputLines.answered("r-0", 200, "earlier", tree("{\"a\":1}"))),
            new Segment.Entry(
                1, false, OutputLines.answered("r-1", 400, "earlier", tree(BAD_REQUEST))));
    try (var pending = store.create(segmentKey(0))) {
      Segment.write(JSON, pending.stream(), new Segment.Summary(1, 1, ONE_OK), entries);
      pending.commit();
    }
    byte[] before;
    try (InputStream in = store.open(segmentKey(0))) {
      before = in.readAllBytes();
    }
    ScriptedInferenceClient client = new ScriptedInferenceClient();

    ChunkOutcome outcome = runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(client.calls()).containsExactlyInAnyOrder("r-2", "r-3", "r-4");
    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 4, 1));
    try (InputStream in = store.open(segmentKey(0))) {
      assertThat(in.readAllBytes()).isEqualTo(before);
    }
    assertThat(metadata.progress.getLast().progress())
        .isEqualTo(new ChunkProgress(4, 1, ONE_OK.plus(ONE_OK).plus(ONE_OK).plus(ONE_OK)));
    assertEachIndexOnce(completeEntries(), 5);
  }

  /**
   * Ten lines, segments of two, two in flight, answers arrive at once except r-3, which hangs.
   * Segments 0 and 2 complete; the stop after the second checkpoint cancels r-3, so segment 1 holds
   * only r-2 and is saved as partial; r-6 to r-9 are never sent.
   */
  private Control runUntilStopped() throws Exception {
    writeChunk(ids(10));
    ScriptedInferenceClient client = new ScriptedInferenceClient().script("r-3", hang());
    Control control = new Control(2);

    assertThatThrownBy(() -> runner(client, settings(2, 2)).run(task(), control))
        .isInstanceOf(ChunkStoppedException.class);

    assertThat(client.calls()).doesNotContain("r-6", "r-7", "r-8", "r-9");
    assertThat(client.hanging()).singleElement().satisfies(f -> assertThat(f).isCancelled());
    return control;
  }

  @Test
  void aStopSavesFinishedWorkAndThrows() throws Exception {
    runUntilStopped();

    assertThat(segmentKeys()).containsExactly(segmentKey(0), partialKey(1), segmentKey(2));
    assertThat(read(partialKey(1))).extracting(Saved::customId).containsExactly("r-2");
    assertThat(summary(partialKey(1))).isEqualTo(new Segment.Summary(1, 0, ONE_OK));
    List<Saved> saved = readAll(segmentKeys());
    assertThat(saved)
        .extracting(Saved::customId)
        .doesNotHaveDuplicates()
        .containsExactlyInAnyOrder("r-0", "r-1", "r-2", "r-4", "r-5");
    for (Saved entry : saved) {
      assertThat(entry.customId()).isEqualTo("r-" + entry.index());
    }
    assertThat(metadata.progress.getLast().progress().completed()).isEqualTo(5);
    assertThat(limiter.available("pool-m1")).isEqualTo(PERMITS);
  }

  @Test
  void progressOfAStoppedChunkNeverGoesDown() throws Exception {
    Control control = runUntilStopped();

    assertThat(control.checkpoints).hasSize(2);
    long last = 0;
    for (RecordingMetadataStore.ProgressCall call : metadata.progress) {
      long done = call.progress().completed() + call.progress().failed();
      assertThat(done).isGreaterThanOrEqualTo(last);
      last = done;
    }
  }

  @Test
  void aRunAfterAStopSendsOnlyTheLinesWithoutASavedResult() throws Exception {
    runUntilStopped();
    ScriptedInferenceClient second = new ScriptedInferenceClient();

    ChunkOutcome outcome = runner(second, settings(2, 2)).run(task(), Control.neverStop());

    // r-2 was saved in the partial segment 1, so only r-3 of that segment is sent again.
    assertThat(second.calls()).containsExactlyInAnyOrder("r-3", "r-6", "r-7", "r-8", "r-9");
    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 10, 0));
    assertEachIndexOnce(completeEntries(), 10);
    assertThat(segmentKeys()).noneMatch(StorageKeys::isPartialSegment).hasSize(5);
    assertThat(summary(segmentKey(1)).usage()).isEqualTo(ONE_OK.plus(ONE_OK));
  }

  /** Drains once the client has seen {@code after} requests; the grace is over when told. */
  private static ChunkControl drainAfter(
      ScriptedInferenceClient client, int after, java.util.function.BooleanSupplier graceOver) {
    return new ChunkControl() {
      @Override
      public void checkpoint(int segmentsDone, long linesDone) {}

      @Override
      public boolean stopRequested() {
        return false;
      }

      @Override
      public boolean draining() {
        return client.calls().size() >= after;
      }

      @Override
      public boolean drainGraceOver() {
        return graceOver.getAsBoolean();
      }
    };
  }

  @Test
  @org.junit.jupiter.api.Timeout(30)
  void aDrainLetsRequestsOnTheWireAnswerSavesThemAndSendsNothingNew() throws Exception {
    writeChunk(ids(12));
    ScriptedInferenceClient client = new ScriptedInferenceClient();
    for (int i = 0; i < 4; i++) {
      client.script("r-" + i, ok().delayed(300));
    }

    assertThatThrownBy(
            () -> runner(client, settings(4, 4)).run(task(), drainAfter(client, 4, () -> false)))
        .isInstanceOf(ChunkDrainedException.class)
        .hasMessageContaining("8 lines");

    assertThat(client.calls()).containsExactlyInAnyOrder("r-0", "r-1", "r-2", "r-3");
    assertThat(readAll(segmentKeys()))
        .extracting(Saved::customId)
        .containsExactlyInAnyOrder("r-0", "r-1", "r-2", "r-3");
    assertThat(limiter.available("pool-m1")).isEqualTo(PERMITS);
    // The next attempt sends exactly the lines the drained one did not.
    ScriptedInferenceClient second = new ScriptedInferenceClient();
    runner(second, settings(4, 4)).run(task(), Control.neverStop());
    assertThat(second.calls()).containsExactlyInAnyOrderElementsOf(ids(12).subList(4, 12));
    assertEachIndexOnce(completeEntries(), 12);
  }

  @Test
  @org.junit.jupiter.api.Timeout(30)
  void aDrainCutsWhatIsStillOnTheWireWhenTheGraceIsOverAndKeepsTheRest() throws Exception {
    writeChunk(ids(8));
    ScriptedInferenceClient client = new ScriptedInferenceClient().script("r-0", hang());
    java.util.concurrent.atomic.AtomicBoolean graceOver =
        new java.util.concurrent.atomic.AtomicBoolean();
    scheduler.schedule(() -> graceOver.set(true), 500, java.util.concurrent.TimeUnit.MILLISECONDS);

    assertThatThrownBy(
            () -> runner(client, settings(4, 4)).run(task(), drainAfter(client, 4, graceOver::get)))
        .isInstanceOf(ChunkDrainedException.class);

    assertThat(readAll(segmentKeys()))
        .extracting(Saved::customId)
        .containsExactlyInAnyOrder("r-1", "r-2", "r-3");
    assertThat(limiter.available("pool-m1")).isEqualTo(PERMITS);
  }

  @Test
  void aRestartWithOtherSegmentSettingsResumesWithTheGeometryTheChunkStartedWith()
      throws Exception {
    runUntilStopped(); // segments of 2 lines: r-0..r-2, r-4, r-5 saved
    ScriptedInferenceClient second = new ScriptedInferenceClient();

    ChunkOutcome outcome = runner(second, settings(3, 2)).run(task(), Control.neverStop());

    assertThat(second.calls()).containsExactlyInAnyOrder("r-3", "r-6", "r-7", "r-8", "r-9");
    assertThat(outcome).isEqualTo(new ChunkOutcome(0, 10, 0));
    assertEachIndexOnce(completeEntries(), 10);
    assertThat(segmentKeys()).noneMatch(StorageKeys::isPartialSegment).hasSize(5);
    Usage total = Usage.ZERO;
    for (String key : segmentKeys()) {
      total = total.plus(summary(key).usage());
    }
    Usage expected = Usage.ZERO;
    for (int i = 0; i < 10; i++) {
      expected = expected.plus(ONE_OK);
    }
    assertThat(total).isEqualTo(expected);
  }

  @Test
  @org.junit.jupiter.api.Timeout(30) // without the checkpoint the stop never comes
  void finishedLinesBehindAStragglerAreCheckpointedBeforeTheSegmentCompletes() throws Exception {
    writeChunk(ids(12));
    // r-0 never answers, so segment 0 (r-0..r-3) stays open while r-1..r-3 finish.
    ScriptedInferenceClient client = new ScriptedInferenceClient().script("r-0", hang());
    ChunkControl stopOncePartialSaved =
        new ChunkControl() {
          @Override
          public void checkpoint(int segmentsDone, long linesDone) {}

          @Override
          public boolean stopRequested() {
            return store.exists(partialKey(0));
          }
        };

    assertThatThrownBy(() -> runner(client, settings(4, 4)).run(task(), stopOncePartialSaved))
        .isInstanceOf(ChunkStoppedException.class);

    assertThat(read(partialKey(0)))
        .extracting(Saved::customId)
        .containsExactlyInAnyOrder("r-1", "r-2", "r-3");
    ScriptedInferenceClient second = new ScriptedInferenceClient();
    runner(second, settings(4, 4)).run(task(), Control.neverStop());
    assertThat(second.calls()).doesNotContain("r-1", "r-2", "r-3").contains("r-0");
    assertEachIndexOnce(completeEntries(), 12);
  }

  @Test
  void everyRequestCarriesItsBatchForTheRankingHeaders() throws Exception {
    writeChunk(ids(3));
    metadata.metadata.put(BATCH, Map.of("inference_objective", "premium"));
    ScriptedInferenceClient client = new ScriptedInferenceClient();

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(client.contexts())
        .hasSize(3)
        .containsOnly(
            new RequestContext(
                TENANT, BATCH, Long.MAX_VALUE, Map.of("inference_objective", "premium")));
  }

  @Test
  void aPoolWithRetrySettingsOfItsOwnUsesThem() throws Exception {
    writeChunk(ids(2));
    ScriptedInferenceClient client =
        new ScriptedInferenceClient()
            .script("r-0", status(503, "busy"))
            .retry(
                "pool-m1",
                new PoolRetry(MAX_ATTEMPTS + 2, Duration.ofMillis(1), Duration.ofMillis(2)));

    runner(client, settings(2, 4)).run(task(), Control.neverStop());

    assertThat(client.attempts("r-0")).isEqualTo(MAX_ATTEMPTS + 2);
  }

  private static com.fasterxml.jackson.databind.JsonNode tree(String json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
