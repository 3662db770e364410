package dev.batchgateway.activities.chunk;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.OutageSettings;
import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.activities.metrics.MetricNames;
import dev.batchgateway.activities.model.BatchControl;
import dev.batchgateway.activities.model.ChunkProgress;
import dev.batchgateway.activities.model.ErrorText;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.activities.plan.LineReader;
import dev.batchgateway.activities.port.BatchPace;
import dev.batchgateway.activities.port.ConcurrencyLimiter;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.InferenceCallSpan;
import dev.batchgateway.activities.port.InferenceClient;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.MetadataStore;
import dev.batchgateway.activities.port.ModelListUnavailableException;
import dev.batchgateway.activities.port.PermitRequest;
import dev.batchgateway.activities.port.RequestContext;
import dev.batchgateway.activities.port.ResponseTooLargeException;
import dev.batchgateway.workflows.ChunkOutcome;
import dev.batchgateway.workflows.ChunkTask;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the lines of one chunk against the inference pool, many at a time, and saves results in
 * checkpoint segments. A segment is written once every line in its range has finished; segments
 * already in the store (from an earlier attempt) are skipped, so a retried chunk only redoes the
 * segments that were in flight when the previous attempt died.
 */
public final class ChunkRunner {
  private static final Logger log = LoggerFactory.getLogger(ChunkRunner.class);
  private static final long POLL_MILLIS = 100;

  /**
   * How often the finished lines of segments still open are saved. A crash re-sends what finished
   * since, on top of the requests in flight.
   */
  static final long OPEN_SEGMENT_CHECKPOINT_MILLIS = 250;

  /**
   * The live counts of a chunk are written at most this often while it runs, and once more at its
   * end. They only feed the API's request_counts while a batch runs (the final counts come from the
   * saved results); a write per segment was 11% of the gateway's CPU samples in the overhead
   * benchmark's profile.
   */
  static final long PROGRESS_INTERVAL_MILLIS = 1000;

  /** A segment's entries up to this size are gathered in memory to checksum and write them. */
  static final long IN_MEMORY_SEGMENT_BYTES = 1024 * 1024;

  /** An entry's tag, index, tabs and line break: at most this many bytes around its line. */
  private static final int ENTRY_FRAME_BYTES = 16;

  private final ObjectMapper json;

  /**
   * Reads chunk lines and inference answers, with Jackson's length limits raised to the largest
   * line or answer allowed (its defaults would refuse a string over 20 M characters).
   */
  private final ObjectMapper responses;

  private final FileStore store;
  private final MetadataStore metadata;
  private final InferenceClient client;
  private final ConcurrencyLimiter limiter;
  private final BatchSettings settings;
  private final ScheduledExecutorService scheduler;
  private final RetryPolicy retryPolicy;
  private final OutageSettings outage;
  private final MetricRegistry metrics;

  /** Traces each inference call; null when they are not traced. */
  private final Tracer tracer;

  /** One circuit per pool, shared by every chunk this worker runs. */
  private final Map<String, PoolCircuit> circuits = new ConcurrentHashMap<>();

  /** Pools with retry settings of their own, by name; the others use {@link #retryPolicy}. */
  private final Map<String, RetryPolicy> poolRetryPolicies = new ConcurrentHashMap<>();

  /** Each pool's inference-call metrics, by pool name. */
  private final Map<String, InferenceMetrics> poolMetrics = new ConcurrentHashMap<>();

  private final Counter succeeded;
  private final Counter failed;
  private final Counter retried;
  private final ChunkMetrics chunks;

  public ChunkRunner(
      ObjectMapper json,
      FileStore store,
      MetadataStore metadata,
      InferenceClient client,
      ConcurrencyLimiter limiter,
      BatchSettings settings,
      ScheduledExecutorService scheduler,
      MetricRegistry metrics) {
    this(
        json,
        store,
        metadata,
        client,
        limiter,
        settings,
        OutageSettings.defaults(),
        scheduler,
        metrics);
  }

  public ChunkRunner(
      ObjectMapper json,
      FileStore store,
      MetadataStore metadata,
      InferenceClient client,
      ConcurrencyLimiter limiter,
      BatchSettings settings,
      OutageSettings outage,
      ScheduledExecutorService scheduler,
      MetricRegistry metrics) {
    this(json, store, metadata, client, limiter, settings, outage, scheduler, metrics, null);
  }

  /**
   * @param tracer makes a span per inference call, a child of the chunk activity's span; null:
   *     inference calls are not traced, and cost nothing for it
   */
  public ChunkRunner(
      ObjectMapper json,
      FileStore store,
      MetadataStore metadata,
      InferenceClient client,
      ConcurrencyLimiter limiter,
      BatchSettings settings,
      OutageSettings outage,
      ScheduledExecutorService scheduler,
      MetricRegistry metrics,
      Tracer tracer) {
    this.tracer = tracer;
    this.json = json;
    this.responses =
        AnsweredLine.parserFor(
            json, Math.max(settings.limits().maxResponseBytes(), settings.limits().maxLineBytes()));
    this.outage = outage;
    this.metrics = metrics;
    this.store = store;
    this.metadata = metadata;
    this.client = client;
    this.limiter = limiter;
    this.settings = settings;
    this.scheduler = scheduler;
    this.retryPolicy =
        new RetryPolicy(settings.maxAttempts(), settings.initialBackoff(), settings.maxBackoff());
    this.succeeded =
        metrics.counter(MetricNames.labeled("batch_gateway_requests_total", "result", "succeeded"));
    this.failed =
        metrics.counter(MetricNames.labeled("batch_gateway_requests_total", "result", "failed"));
    this.retried = metrics.counter("batch_gateway_request_retries_total");
    this.chunks = new ChunkMetrics(metrics);
  }

  private InferenceMetrics metricsFor(String pool) {
    InferenceMetrics found = poolMetrics.get(pool);
    return found != null
        ? found
        : poolMetrics.computeIfAbsent(pool, name -> new InferenceMetrics(metrics, name));
  }

  /**
   * The pool's circuit, with its metrics: gauge {@code batch_gateway_inference_circuit_state{pool}}
   * (0 closed, 1 open, 2 half-open) and counter {@code
   * batch_gateway_inference_circuit_opens_total{pool}}.
   */
  PoolCircuit circuitFor(String pool) {
    return circuits.computeIfAbsent(
        pool,
        name -> {
          Counter opens =
              metrics.counter(
                  MetricNames.labeled("batch_gateway_inference_circuit_opens_total", "pool", name));
          PoolCircuit circuit =
              new PoolCircuit(
                  outage.circuitFailures(),
                  outage.circuitProbeInterval().toNanos(),
                  System::nanoTime,
                  () -> {
                    opens.inc();
                    log.warn(
                        "Inference pool {} is unreachable: dispatch to it pauses, probing every {}",
                        name,
                        outage.circuitProbeInterval());
                  });
          metrics.<Gauge<Integer>>gauge(
              MetricNames.labeled("batch_gateway_inference_circuit_state", "pool", name),
              () -> () -> circuit.state().ordinal());
          return circuit;
        });
  }

  /**
   * A connection that could not be made, or a pool whose model list could not be read: the
   * infrastructure failed and the request never reached an engine.
   */
  static boolean isUnreachable(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof ConnectException
          || cause instanceof HttpConnectTimeoutException
          || cause instanceof ModelListUnavailableException) {
        return true;
      }
    }
    return false;
  }

  private RetryPolicy retryPolicyFor(String model) {
    return client
        .poolFor(model)
        .map(
            pool ->
                poolRetryPolicies.computeIfAbsent(
                    pool,
                    name ->
                        client
                            .retryFor(name)
                            .map(
                                retry ->
                                    new RetryPolicy(
                                        retry.maxAttempts(),
                                        retry.initialBackoff(),
                                        retry.maxBackoff()))
                            .orElse(retryPolicy)))
        .orElse(retryPolicy);
  }

  /**
   * Runs the chunk to the end, or until {@code control} reports a stop; then whatever finished is
   * saved as partial segments and {@link ChunkStoppedException} thrown, unless every line already
   * had its result: the stop found nothing to cut, and the chunk reports its outcome as if it had
   * not come (so a batch whose requests all finished is not reported expired).
   */
  public ChunkOutcome run(ChunkTask task, ChunkControl control)
      throws IOException, InterruptedException, ChunkStoppedException, ChunkDrainedException {
    long started = System.nanoTime();
    chunks.running.incrementAndGet();
    ChunkMetrics.Ending ending = ChunkMetrics.Ending.ERROR;
    try {
      ChunkOutcome outcome = new Execution(task, control).run();
      ending = ChunkMetrics.Ending.COMPLETED;
      return outcome;
    } catch (ChunkStoppedException e) {
      ending = ChunkMetrics.Ending.STOPPED;
      throw e;
    } catch (ChunkDrainedException e) {
      ending = ChunkMetrics.Ending.DRAINED;
      throw e;
    } finally {
      chunks.running.decrementAndGet();
      chunks.ended(ending, System.nanoTime() - started);
    }
  }

  private record Line(String customId, String model, byte[] body) {}

  private record Result(boolean success, byte[] line, Usage usage) {}

  /** A result whose line waits in the spool for its segment to be saved. */
  private record Stored(boolean success, long position, int length, Usage usage) {}

  /** A line whose backoff has passed, waiting for a permit to be sent again. */
  private record Retry(int index, int attempt) {}

  /** What waiting on a pool's circuit came to. */
  private enum Gate {
    PASS,
    STOP,
    GAVE_UP
  }

  private final class Execution {
    private final ChunkTask task;
    private final ChunkControl control;
    private final Object lock = new Object();
    private final Set<CompletableFuture<InferenceResponse>> inFlight =
        ConcurrentHashMap.newKeySet();
    private final Semaphore slots = new Semaphore(settings.chunkConcurrency());
    private final ConcurrentLinkedQueue<Retry> retries = new ConcurrentLinkedQueue<>();

    /** Lines waiting out a retry backoff, before they join {@link #retries}. */
    private final Set<Retry> backingOff = ConcurrentHashMap.newKeySet();

    private List<Line> lines;
    private Stored[] results;
    private ResultSpool spool;

    /** Set when a result could not be spooled: the attempt ends and Temporal retries it. */
    private volatile IOException spoolFailure;

    private int[] unfinishedInSegment;
    private boolean[] segmentWritten;
    private final Deque<Integer> readySegments = new ArrayDeque<>();

    /** Unfinished segments that gained results since the last partial checkpoint. */
    private final java.util.SortedSet<Integer> changedOpenSegments = new java.util.TreeSet<>();

    private int resultsSinceCheckpoint;
    private long lastCheckpointMillis = System.currentTimeMillis();
    private boolean[] hasPartial;
    private int outstanding;
    private volatile boolean stopping;

    /** The worker is shutting down: nothing new is sent; what is on the wire may answer. */
    private volatile boolean draining;

    private long completed;
    private long failedLines;
    private Usage usage = Usage.ZERO;
    private int segmentsDone;
    private boolean progressBehind;

    /** Saved results not yet in the live counts. */
    private boolean progressPending;

    private long progressRecordedNanos = System.nanoTime();

    /** Past this, requests to an unreachable pool fail: the rest is left for finalizing. */
    private final long giveUpMillis;

    /** Lines per segment, as the chunk's first attempt fixed them. */
    private int segmentLines;

    /** The batch as the inference client sees it; read once per attempt of the chunk. */
    private RequestContext context;

    /** The batch and tenant for the log lines of answers that arrive on the client's threads. */
    private final Map<String, String> logContext;

    Execution(ChunkTask task, ChunkControl control) {
      this.task = task;
      this.control = control;
      this.logContext =
          Map.of(LogContext.BATCH_ID, task.batchId(), LogContext.TENANT, task.tenant());
      long deadlineMillis =
          task.deadlineEpochSeconds() > Long.MAX_VALUE / 1000
              ? Long.MAX_VALUE
              : task.deadlineEpochSeconds() * 1000;
      this.giveUpMillis = deadlineMillis - outage.deadlineReserve().toMillis();
    }

    ChunkOutcome run()
        throws IOException, InterruptedException, ChunkStoppedException, ChunkDrainedException {
      try (ResultSpool opened = new ResultSpool()) {
        spool = opened;
        return runSpooled();
      }
    }

    private ChunkOutcome runSpooled()
        throws IOException, InterruptedException, ChunkStoppedException, ChunkDrainedException {
      context =
          new RequestContext(
              task.tenant(),
              task.batchId(),
              task.deadlineEpochSeconds(),
              metadata.batchMetadata(task.tenant(), task.batchId()));
      lines = readLines();
      segmentLines = geometry();
      int segmentCount = (lines.size() + segmentLines - 1) / segmentLines;
      results = new Stored[lines.size()];
      unfinishedInSegment = new int[segmentCount];
      segmentWritten = new boolean[segmentCount];
      hasPartial = new boolean[segmentCount];
      loadWrittenSegments();
      if (segmentsDone > 0) {
        log.info(
            "Chunk {} of batch {} resumes with {} of {} segments already saved",
            task.chunkIndex(),
            task.batchId(),
            segmentsDone,
            segmentCount);
      }

      launch:
      for (int segment = 0; segment < segmentCount; segment++) {
        if (segmentWritten[segment]) {
          continue;
        }
        int start = segment * segmentLines;
        int end = Math.min(lines.size(), start + segmentLines);
        synchronized (lock) {
          int unfinished = 0;
          for (int i = start; i < end; i++) {
            unfinished += results[i] == null ? 1 : 0;
          }
          unfinishedInSegment[segment] = unfinished;
          if (unfinished == 0) {
            readySegments.add(segment);
          }
        }
        for (int i = start; i < end; i++) {
          if (results[i] != null) {
            continue;
          }
          if (!acquireSlot()) {
            break launch;
          }
          synchronized (lock) {
            outstanding++;
          }
          if (!sendWithPermit(i, 1)) {
            break launch;
          }
        }
        flushReadySegments();
      }
      awaitOutstanding();
      if (spoolFailure != null) {
        throw spoolFailure;
      }
      flushReadySegments();
      if (progressPending) {
        recordProgress();
      }
      // Every result is saved; the live counts wait for the database, heartbeating meanwhile.
      while (progressBehind && !checkStop()) {
        Thread.sleep(1000);
        recordProgress();
      }
      if (stopping) {
        if (spoolFailure != null || linesWithoutResult() > 0) {
          writePartialSegments();
          throw new ChunkStoppedException();
        }
        log.info(
            "Chunk {} of batch {} was stopped after every line had its result; it reports them",
            task.chunkIndex(),
            task.batchId());
      }
      if (draining) {
        writePartialSegments();
        long left = linesWithoutResult();
        if (left > 0) {
          log.info(
              "Chunk {} of batch {} saved its results and leaves {} lines to another worker",
              task.chunkIndex(),
              task.batchId(),
              left);
          throw new ChunkDrainedException(left);
        }
      }
      return new ChunkOutcome(task.chunkIndex(), completed, failedLines);
    }

    /** Lines with no result yet; a saved segment's results are dropped from memory once written. */
    private long linesWithoutResult() {
      long left = 0;
      synchronized (lock) {
        for (int i = 0; i < results.length; i++) {
          left += results[i] == null && !segmentWritten[i / segmentLines] ? 1 : 0;
        }
      }
      return left;
    }

    /**
     * Lines per segment: those the chunk's first attempt recorded, or today's setting, recorded now
     * for the attempts after this one.
     */
    private int geometry() throws IOException {
      String key = StorageKeys.chunkGeometry(task.tenant(), task.batchId(), task.chunkIndex());
      if (store.exists(key)) {
        try (var in = store.open(key)) {
          int recorded = json.readTree(in).path("segment_lines").asInt(0);
          if (recorded > 0) {
            if (recorded != settings.segmentLines()) {
              log.info(
                  "Chunk {} of batch {} keeps the {} lines per segment it started with",
                  task.chunkIndex(),
                  task.batchId(),
                  recorded);
            }
            return recorded;
          }
        }
      }
      int configured = settings.segmentLines();
      byte[] body =
          json.writeValueAsBytes(json.createObjectNode().put("segment_lines", configured));
      store.write(key, new java.io.ByteArrayInputStream(body), body.length);
      return configured;
    }

    /**
     * Reads the chunk's lines, keeping of each only its id, model and the body's bytes as written:
     * no JSON tree is built, so the chunk holds about its file's size (at most {@code chunkBytes}).
     */
    private List<Line> readLines() throws IOException {
      List<Line> parsed = new ArrayList<>(settings.chunkLines());
      String key = StorageKeys.chunkInput(task.tenant(), task.batchId(), task.chunkIndex());
      try (InputStream in = store.open(key)) {
        LineReader reader = new LineReader(in, settings.limits().maxLineBytes());
        while (reader.next()) {
          if (reader.tooLong()) {
            throw new IOException(
                "Line " + (parsed.size() + 1) + " of chunk " + key + " is over maxLineSize");
          }
          parsed.add(parseLine(reader.bytes(), reader.length()));
        }
      }
      return parsed;
    }

    private Line parseLine(byte[] bytes, int length) throws IOException {
      String customId = "";
      String model = "";
      byte[] body = null;
      try (JsonParser parser = responses.getFactory().createParser(bytes, 0, length)) {
        if (parser.nextToken() != JsonToken.START_OBJECT) {
          throw new IOException("A chunk line is not a JSON object");
        }
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String field = parser.currentName();
          JsonToken value = parser.nextToken();
          if (field.equals("custom_id") && value == JsonToken.VALUE_STRING) {
            customId = parser.getText();
          } else if (field.equals("body") && value == JsonToken.START_OBJECT) {
            int start = (int) parser.currentTokenLocation().getByteOffset();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
              String name = parser.currentName();
              if (parser.nextToken() == JsonToken.VALUE_STRING && name.equals("model")) {
                model = parser.getText();
              } else {
                parser.skipChildren();
              }
            }
            int end = (int) parser.currentLocation().getByteOffset();
            body = Arrays.copyOfRange(bytes, start, end);
          } else {
            parser.skipChildren();
          }
        }
      }
      if (body == null) {
        throw new IOException("A chunk line has no body");
      }
      return new Line(customId, model, body);
    }

    /**
     * Counts what earlier attempts already saved: complete segments are not run again, and the
     * lines of a partial checkpoint are taken as answered.
     */
    private void loadWrittenSegments() throws IOException {
      String root = StorageKeys.chunkRoot(task.tenant(), task.batchId(), task.chunkIndex());
      List<String> partials = new ArrayList<>();
      for (String key : store.list(root)) {
        if (!key.contains("/seg-")) {
          continue;
        }
        int segment = StorageKeys.segmentNumber(key);
        if (segment >= segmentWritten.length) {
          continue;
        }
        if (StorageKeys.isPartialSegment(key)) {
          partials.add(key);
          continue;
        }
        Segment.Summary summary;
        try (var in = store.open(key)) {
          summary = Segment.read(json, in, null);
        }
        segmentWritten[segment] = true;
        segmentsDone++;
        addToTotals(summary);
      }
      for (String key : partials) {
        int segment = StorageKeys.segmentNumber(key);
        if (segmentWritten[segment]) {
          continue;
        }
        hasPartial[segment] = true;
        try (var in = store.open(key)) {
          Segment.read(
              json,
              in,
              (index, success, line) -> {
                Usage lineUsage = success ? AnsweredLine.usageOfLine(responses, line) : Usage.ZERO;
                byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
                results[index] = new Stored(success, spool.append(bytes), bytes.length, lineUsage);
              });
        }
      }
    }

    private boolean acquireSlot() throws InterruptedException, IOException {
      while (true) {
        if (checkStop()) {
          return false;
        }
        if (!sendRetries()) {
          return false;
        }
        // Saved before every send, not only while the window is full: a segment that completed or
        // a checkpoint that is due must not wait for the launch loop to reach the next segment.
        flushReadySegments();
        if (slots.tryAcquire(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
          return true;
        }
      }
    }

    /**
     * Waits for a pool permit and sends the line. A line holds its chunk slot (counted in {@code
     * outstanding}) from its first send to its result, but a pool permit only while on the wire.
     * Answers false when the chunk is stopping; the line is then abandoned.
     */
    private boolean sendWithPermit(int index, int attempt)
        throws InterruptedException, IOException {
      String pool = client.poolFor(lines.get(index).model()).orElse("default");
      PoolCircuit circuit = circuitFor(pool);
      InferenceMetrics poolMetrics = metricsFor(pool);
      Gate gate = awaitCircuit(index, circuit);
      if (gate == Gate.GAVE_UP) {
        return true;
      }
      ConcurrencyLimiter.Permit permit =
          gate == Gate.PASS ? acquirePermit(pool, poolMetrics) : null;
      if (permit == null) {
        abandon();
        return false;
      }
      send(index, attempt, pool, permit, circuit, poolMetrics);
      return true;
    }

    /**
     * Waits, holding no permit, while the pool's circuit is open. Past the give-up time the line
     * fails as {@code backend_unreachable} instead.
     */
    private Gate awaitCircuit(int index, PoolCircuit circuit)
        throws InterruptedException, IOException {
      long pauseMillis =
          Math.max(1, Math.min(POLL_MILLIS, outage.circuitProbeInterval().toMillis()));
      while (!circuit.tryPass()) {
        if (checkStop()) {
          return Gate.STOP;
        }
        if (System.currentTimeMillis() >= giveUpMillis) {
          finish(index, failure(lines.get(index), OutputLines.NoAnswer.BACKEND_UNREACHABLE, null));
          return Gate.GAVE_UP;
        }
        flushReadySegments();
        Thread.sleep(pauseMillis);
      }
      return Gate.PASS;
    }

    /** Sends the lines whose retry backoff has passed. False when the chunk is stopping. */
    private boolean sendRetries() throws InterruptedException, IOException {
      Retry retry;
      while ((retry = retries.poll()) != null) {
        if (!sendWithPermit(retry.index(), retry.attempt())) {
          abandonQueuedRetries();
          return false;
        }
      }
      return true;
    }

    private void abandonQueuedRetries() {
      while (retries.poll() != null) {
        abandon();
      }
    }

    private ConcurrencyLimiter.Permit acquirePermit(String pool, InferenceMetrics poolMetrics)
        throws InterruptedException, IOException {
      long asked = System.nanoTime();
      while (true) {
        if (checkStop()) {
          return null;
        }
        var permit = limiter.acquire(permitRequest(pool), settings.permitWait());
        if (permit.isPresent()) {
          poolMetrics.permitWait.observe(System.nanoTime() - asked);
          return permit.get();
        }
        flushReadySegments();
      }
    }

    /** Asks with the batch's latest priority, so a reprioritize reaches running chunks. */
    private PermitRequest permitRequest(String pool) {
      Optional<BatchControl> latest = control.latest();
      return new PermitRequest(
          pool,
          task.tenant(),
          task.batchId(),
          latest.map(BatchControl::priority).orElse(task.priority()),
          task.deadlineEpochSeconds(),
          latest.map(BatchControl::pace).orElse(BatchPace.UNKNOWN));
    }

    /**
     * True when nothing more may be sent: the batch was stopped (requests on the wire are cut at
     * once) or the worker is draining (they are cut only when its grace period is over).
     */
    private boolean checkStop() {
      if (!stopping && (spoolFailure != null || control.stopRequested())) {
        stopping = true;
        inFlight.forEach(future -> future.cancel(true));
      }
      if (!stopping && control.draining()) {
        draining = true;
        if (control.drainGraceOver()) {
          inFlight.forEach(future -> future.cancel(true));
        }
      }
      return stopping || draining;
    }

    private void send(
        int index,
        int attempt,
        String pool,
        ConcurrencyLimiter.Permit permit,
        PoolCircuit circuit,
        InferenceMetrics poolMetrics) {
      if (stopping || draining) {
        permit.onIgnore();
        abandon();
        return;
      }
      Line line = lines.get(index);
      long sentNanos = System.nanoTime();
      InferenceRequest request =
          new InferenceRequest(line.model(), task.endpoint(), line.body(), Map.of(), context);
      Span span =
          tracer == null
              ? null
              : InferenceSpans.start(tracer, task, line.model(), pool, index, attempt);
      CompletableFuture<InferenceResponse> future;
      if (span == null) {
        future = client.send(request);
      } else {
        // Current while the client picks an endpoint, so it can record which.
        try (Scope ignored = InferenceCallSpan.with(Context.current(), span).makeCurrent()) {
          future = client.send(request);
        }
      }
      inFlight.add(future);
      future.whenComplete(
          LogContext.carrying(
              logContext,
              (response, error) -> {
                if (span != null) {
                  InferenceSpans.end(span, response, error);
                }
                inFlight.remove(future);
                long latencyNanos = System.nanoTime() - sentNanos;
                poolMetrics.duration.observe(latencyNanos);
                poolMetrics.count(InferenceMetrics.outcomeOf(response, error));
                try {
                  onAnswer(index, attempt, permit, circuit, latencyNanos, response, error);
                } catch (RuntimeException e) {
                  log.error("Unexpected failure handling line {} of a chunk", index, e);
                  permit.onIgnore();
                  finish(index, failure(line, OutputLines.NoAnswer.BATCH_FAILED, e));
                }
              }));
    }

    /**
     * Ends the permit with what the answer says about the engine's load, then records the line's
     * result or queues it for a retry; a retry asks for a new permit once its backoff has passed.
     */
    private void onAnswer(
        int index,
        int attempt,
        ConcurrencyLimiter.Permit permit,
        PoolCircuit circuit,
        long latencyNanos,
        InferenceResponse response,
        Throwable error) {
      Line line = lines.get(index);
      RetryPolicy policy = retryPolicyFor(line.model());
      if (error != null) {
        Throwable cause = error instanceof CompletionException ? error.getCause() : error;
        if (stopping || cause instanceof CancellationException) {
          permit.onIgnore();
          abandon();
          return;
        }
        ResponseTooLargeException tooLarge = ResponseTooLargeException.in(cause);
        if (tooLarge != null) {
          // The same request would get the same answer again: not retried.
          permit.onIgnore();
          String detail = "Limit: " + tooLarge.limitBytes() + " bytes.";
          finish(
              index,
              new Result(
                  false,
                  OutputLines.unanswered(
                      line.customId(), OutputLines.NoAnswer.RESPONSE_TOO_LARGE, detail),
                  Usage.ZERO));
          circuit.onReachable();
          return;
        }
        if (isUnreachable(cause)) {
          permit.onIgnore();
          circuit.onUnreachable();
          if (System.currentTimeMillis() >= giveUpMillis) {
            finish(index, failure(line, OutputLines.NoAnswer.BACKEND_UNREACHABLE, cause));
          } else {
            retryUnreachable(index, attempt);
          }
          return;
        }
        if (cause instanceof HttpTimeoutException) {
          permit.onDropped();
        } else {
          permit.onIgnore();
        }
        if (policy.mayRetry(attempt)) {
          retry(index, attempt, -1);
        } else {
          OutputLines.NoAnswer reason =
              cause instanceof HttpTimeoutException
                  ? OutputLines.NoAnswer.REQUEST_TIMEOUT
                  : OutputLines.NoAnswer.BATCH_FAILED;
          finish(index, failure(line, reason, cause));
        }
        return;
      }
      circuit.onReachable();
      int status = response.statusCode();
      if (response.isSuccess()) {
        permit.onSuccess(latencyNanos);
      } else if (RetryPolicy.isOverload(status)) {
        permit.onDropped();
      } else {
        permit.onIgnore();
      }
      if (!response.isSuccess()
          && RetryPolicy.isRetryableStatus(status)
          && policy.mayRetry(attempt)) {
        retry(index, attempt, response.retryAfterMillis());
        return;
      }
      AnsweredLine answered =
          response.isSuccess()
              ? AnsweredLine.of(
                  responses, line.customId(), status, requestId(response), response.body())
              : null;
      if (answered == null) {
        // A failure, or a success that is not JSON: the backend's words, cleaned, in the line.
        JsonNode body = BackendErrorBody.of(responses, status, response.body());
        byte[] output = OutputLines.answered(line.customId(), status, requestId(response), body);
        finish(index, new Result(false, output, Usage.ZERO));
        return;
      }
      finish(index, new Result(true, answered.line(), answered.usage()));
    }

    private void retry(int index, int attempt, long retryAfter) {
      retried.inc();
      long delay = retryPolicyFor(lines.get(index).model()).delayMillis(attempt, retryAfter);
      backOff(new Retry(index, attempt + 1), delay);
    }

    /** Queues {@code retry} once {@code delayMillis} passed; a stopping chunk drops it now. */
    private void backOff(Retry retry, long delayMillis) {
      if (stopping || draining) {
        abandon();
        return;
      }
      backingOff.add(retry);
      scheduler.schedule(
          () -> {
            if (backingOff.remove(retry)) {
              retries.add(retry);
            }
          },
          delayMillis,
          TimeUnit.MILLISECONDS);
    }

    /** Drops the lines still waiting out a retry backoff; they stay unanswered. */
    private void abandonBackingOff() {
      for (Retry retry : backingOff) {
        if (backingOff.remove(retry)) {
          abandon();
        }
      }
    }

    /**
     * Queues the line again with the same attempt number: the pool could not be reached, which says
     * nothing about the request, so it costs none of the request's tries.
     */
    private void retryUnreachable(int index, int attempt) {
      retried.inc();
      long delay = retryPolicyFor(lines.get(index).model()).delayMillis(1, -1);
      backOff(new Retry(index, attempt), delay);
    }

    private Result failure(Line line, OutputLines.NoAnswer reason, Throwable cause) {
      // Exception messages name hosts, addresses and URLs; the line shows them cleaned.
      String detail =
          cause == null || cause.getMessage() == null
              ? null
              : ErrorText.clean(cause.getMessage(), ErrorText.MAX_DETAIL_CHARS);
      return new Result(false, OutputLines.unanswered(line.customId(), reason, detail), Usage.ZERO);
    }

    private void finish(int index, Result result) {
      Stored stored;
      try {
        stored =
            new Stored(
                result.success(),
                spool.append(result.line()),
                result.line().length,
                result.usage());
      } catch (IOException e) {
        log.error("Cannot spool a result of chunk {}", task.chunkIndex(), e);
        spoolFailure = e;
        abandon();
        return;
      }
      (result.success() ? succeeded : failed).inc();
      slots.release();
      synchronized (lock) {
        results[index] = stored;
        outstanding--;
        int segment = index / segmentLines;
        if (--unfinishedInSegment[segment] == 0) {
          readySegments.add(segment);
          changedOpenSegments.remove(segment);
        } else {
          changedOpenSegments.add(segment);
          resultsSinceCheckpoint++;
        }
        lock.notifyAll();
      }
    }

    /** A line dropped because the chunk is stopping: it stays unanswered. */
    private void abandon() {
      slots.release();
      synchronized (lock) {
        outstanding--;
        lock.notifyAll();
      }
    }

    private void awaitOutstanding() throws InterruptedException, IOException {
      while (true) {
        synchronized (lock) {
          if (outstanding == 0) {
            return;
          }
          lock.wait(POLL_MILLIS);
        }
        if (checkStop()) {
          abandonBackingOff();
          abandonQueuedRetries();
        } else {
          sendRetries();
        }
        flushReadySegments();
      }
    }

    private void flushReadySegments() throws IOException {
      while (true) {
        int segment;
        synchronized (lock) {
          if (readySegments.isEmpty()) {
            break;
          }
          segment = readySegments.poll();
        }
        saveSegment(
            segment,
            StorageKeys.segment(task.tenant(), task.batchId(), task.chunkIndex(), segment),
            false);
        segmentWritten[segment] = true;
        segmentsDone++;
        if (hasPartial[segment]) {
          store.delete(
              StorageKeys.partialSegment(
                  task.tenant(), task.batchId(), task.chunkIndex(), segment));
        }
        progressPending = true;
        if (System.nanoTime() - progressRecordedNanos >= PROGRESS_INTERVAL_MILLIS * 1_000_000) {
          recordProgress();
        }
        control.checkpoint(segmentsDone, completed + failedLines);
      }
      checkpointOpenSegments();
    }

    /**
     * Records the chunk's totals for the API's live counts. They are totals, so a write the
     * database missed is made good by the next one: a store outage must not stop a chunk whose
     * results are safe in the file store.
     */
    private void recordProgress() {
      progressRecordedNanos = System.nanoTime();
      try {
        metadata.recordChunkProgress(
            task.tenant(),
            task.batchId(),
            task.chunkIndex(),
            new ChunkProgress(completed, failedLines, usage));
        progressBehind = false;
        progressPending = false;
      } catch (RuntimeException e) {
        if (!progressBehind) {
          log.warn(
              "Chunk {} of batch {} cannot record its progress, carrying on: {}",
              task.chunkIndex(),
              task.batchId(),
              e.toString());
        }
        progressBehind = true;
      }
    }

    /**
     * Saves the finished lines of segments still waiting on others, at most every {@value
     * #OPEN_SEGMENT_CHECKPOINT_MILLIS} ms. A crash then costs that long's finished work per chunk
     * plus the requests in flight, even when a slow request keeps a segment open. By time, not by
     * count: at a few thousand answers a second most of them land in a segment that is still open,
     * and saving every segment's worth would write each segment twice.
     */
    private void checkpointOpenSegments() throws IOException {
      List<Integer> changed;
      long now = System.currentTimeMillis();
      synchronized (lock) {
        boolean due =
            resultsSinceCheckpoint > 0
                && now - lastCheckpointMillis >= OPEN_SEGMENT_CHECKPOINT_MILLIS;
        if (!due) {
          return;
        }
        changed = new ArrayList<>(changedOpenSegments);
        changedOpenSegments.clear();
        resultsSinceCheckpoint = 0;
      }
      lastCheckpointMillis = now;
      for (int segment : changed) {
        if (segmentWritten[segment]) {
          continue;
        }
        saveSegment(
            segment,
            StorageKeys.partialSegment(task.tenant(), task.batchId(), task.chunkIndex(), segment),
            true);
        hasPartial[segment] = true;
      }
    }

    /** Saves whatever finished in segments that will not complete, so no answer is lost. */
    private void writePartialSegments() throws IOException {
      for (int segment = 0; segment < segmentWritten.length; segment++) {
        if (segmentWritten[segment] || !hasAnyResult(segment)) {
          continue;
        }
        saveSegment(
            segment,
            StorageKeys.partialSegment(task.tenant(), task.batchId(), task.chunkIndex(), segment),
            false);
      }
      metadata.recordChunkProgress(
          task.tenant(),
          task.batchId(),
          task.chunkIndex(),
          new ChunkProgress(completed, failedLines, usage));
    }

    private boolean hasAnyResult(int segment) {
      synchronized (lock) {
        int start = segment * segmentLines;
        int end = Math.min(lines.size(), start + segmentLines);
        for (int i = start; i < end; i++) {
          if (results[i] != null) {
            return true;
          }
        }
        return false;
      }
    }

    /**
     * Writes the finished lines of a segment under {@code key}. A checkpoint keeps the results in
     * memory and out of the totals, because the segment will be written again once complete.
     */
    private void saveSegment(int segment, String key, boolean checkpoint) throws IOException {
      int start = segment * segmentLines;
      int end = Math.min(lines.size(), start + segmentLines);
      List<Integer> indexes = new ArrayList<>(end - start);
      List<Stored> stored = new ArrayList<>(end - start);
      long segmentCompleted = 0;
      long segmentFailed = 0;
      Usage segmentUsage = Usage.ZERO;
      synchronized (lock) {
        for (int i = start; i < end; i++) {
          Stored result = results[i];
          if (result == null) {
            continue;
          }
          indexes.add(i);
          stored.add(result);
          if (result.success()) {
            segmentCompleted++;
            segmentUsage = segmentUsage.plus(result.usage());
          } else {
            segmentFailed++;
          }
          if (!checkpoint) {
            results[i] = null;
          }
        }
      }
      Segment.Summary summary = new Segment.Summary(segmentCompleted, segmentFailed, segmentUsage);
      // The header carries the entries' checksum, so the entries are gathered first: in memory
      // when they are small, as they usually are; otherwise read from the spool twice (it is in
      // the page cache), so a segment of large answers is never held in memory.
      long size = 0;
      for (Stored result : stored) {
        size += result.length() + ENTRY_FRAME_BYTES;
      }
      CRC32C crc = new CRC32C();
      ByteArrayOutputStream gathered = null;
      if (size <= IN_MEMORY_SEGMENT_BYTES) {
        gathered = new ByteArrayOutputStream((int) size);
        writeEntries(indexes, stored, gathered);
        crc.update(gathered.toByteArray());
      } else {
        try (OutputStream sum = new CheckedOutputStream(OutputStream.nullOutputStream(), crc)) {
          writeEntries(indexes, stored, sum);
        }
      }
      try (FileStore.Pending pending = store.create(key)) {
        OutputStream out = pending.stream();
        Segment.writeHeader(out, summary, crc.getValue());
        if (gathered != null) {
          gathered.writeTo(out);
        } else {
          writeEntries(indexes, stored, out);
        }
        pending.commit();
      }
      if (!checkpoint) {
        addToTotals(summary);
      }
    }

    private void writeEntries(List<Integer> indexes, List<Stored> stored, OutputStream out)
        throws IOException {
      for (int e = 0; e < indexes.size(); e++) {
        Stored result = stored.get(e);
        Segment.writeEntryStart(out, indexes.get(e), result.success());
        spool.copyTo(result.position(), result.length(), out);
        out.write('\n');
      }
    }

    private void addToTotals(Segment.Summary summary) {
      completed += summary.completed();
      failedLines += summary.failed();
      usage = usage.plus(summary.usage());
    }

    private String requestId(InferenceResponse response) {
      return response.requestId() != null
          ? response.requestId()
          : "req_" + UUID.randomUUID().toString().replace("-", "");
    }
  }
}
