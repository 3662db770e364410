package dev.batchgateway.activities.finalize;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.chunk.CorruptSegmentException;
import dev.batchgateway.activities.chunk.OutputLines;
import dev.batchgateway.activities.chunk.Segment;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.model.Ids;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.MetadataStore;
import dev.batchgateway.workflows.FinalizeRequest;
import dev.batchgateway.workflows.FinalizeResult;
import dev.batchgateway.workflows.RequestCounts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins the checkpoint segments of every chunk into the batch's output and error files. Lines with
 * no saved result become error lines whose code says why (cancelled, expired, failed), so every
 * {@code custom_id} appears exactly once across the two files. Repeating it before the batch is
 * terminal gives the same files; once it is terminal, it changes nothing and answers what was
 * recorded, so a retried finalize never rewrites files the batch row describes.
 *
 * <p>A damaged checkpoint segment fails a normal finalize with {@link CorruptSegmentException}. A
 * salvage finalize skips it instead and reports the lines of its range that no other segment
 * answered as {@code result_lost} errors.
 */
public final class Finalizer {
  private static final Logger log = LoggerFactory.getLogger(Finalizer.class);

  private final ObjectMapper json;
  private final FileStore store;
  private final MetadataStore metadata;
  private final Clock clock;
  private final int segmentLines;

  /**
   * @param segmentLines lines per checkpoint segment, which tells the lines a damaged segment held
   */
  public Finalizer(
      ObjectMapper json, FileStore store, MetadataStore metadata, Clock clock, int segmentLines) {
    this.json = json;
    this.store = store;
    this.metadata = metadata;
    this.clock = clock;
    this.segmentLines = segmentLines;
  }

  public FinalizeResult finalizeBatch(FinalizeRequest request, Runnable heartbeat)
      throws IOException {
    String tenant = request.tenant();
    String batchId = request.batchId();
    Optional<FinalizeResult> recorded = metadata.finalResult(tenant, batchId);
    if (recorded.isPresent()) {
      log.info("Batch {} is already terminal; finalize leaves its files as they are", batchId);
      return recorded.get();
    }
    String outputId = Ids.derivedFileId(batchId, "output");
    String errorId = Ids.derivedFileId(batchId, "error");
    OutputLines.NoAnswer missingReason =
        switch (request.status()) {
          case CANCELLED -> OutputLines.NoAnswer.BATCH_CANCELLED;
          case EXPIRED -> OutputLines.NoAnswer.BATCH_EXPIRED;
          default -> OutputLines.NoAnswer.BATCH_FAILED;
        };

    Tally tally = new Tally();
    try (FileStore.Pending output = store.create(StorageKeys.file(tenant, outputId));
        FileStore.Pending errors = store.create(StorageKeys.file(tenant, errorId))) {
      CountingStream out = new CountingStream(output.stream());
      CountingStream err = new CountingStream(errors.stream());
      for (int chunk = 0; chunk < request.chunkCount(); chunk++) {
        // A chunk that gave up left its lines unanswered because it failed, whatever the batch's
        // end.
        OutputLines.NoAnswer reason =
            request.failedChunks().contains(chunk)
                ? OutputLines.NoAnswer.BATCH_FAILED
                : missingReason;
        joinChunk(tenant, batchId, chunk, reason, request.salvage(), out, err, tally);
        heartbeat.run();
      }
      long now = clock.instant().getEpochSecond();
      FileRecord outputFile = null;
      FileRecord errorFile = null;
      if (tally.completed > 0) {
        output.commit();
        outputFile = resultFile(tenant, outputId, "batch_output_" + batchId + ".jsonl", out, now);
      }
      if (tally.failed > 0) {
        errors.commit();
        errorFile = resultFile(tenant, errorId, "batch_error_" + batchId + ".jsonl", err, now);
      }
      RequestCounts counts = new RequestCounts(request.totalLines(), tally.completed, tally.failed);
      List<BatchError> problems = new ArrayList<>();
      request
          .problems()
          .forEach(p -> problems.add(new BatchError(p.code(), p.message(), null, null)));
      if (tally.lost > 0) {
        problems.add(
            new BatchError(
                OutputLines.NoAnswer.RESULT_LOST.code(),
                tally.lost
                    + " requests are in the error file with code result_lost: their checkpoints"
                    + " could not be read back.",
                null,
                null));
      }
      if (!problems.isEmpty()) {
        metadata.recordErrors(tenant, batchId, problems);
      }
      metadata.completeBatch(
          tenant, batchId, request.status(), counts, tally.usage, outputFile, errorFile, now);
      return new FinalizeResult(
          counts,
          outputFile == null ? null : outputFile.id(),
          errorFile == null ? null : errorFile.id());
    }
  }

  private void joinChunk(
      String tenant,
      String batchId,
      int chunk,
      OutputLines.NoAnswer missingReason,
      boolean salvage,
      OutputStream out,
      OutputStream err,
      Tally tally)
      throws IOException {
    Map<Integer, String> segments = new TreeMap<>();
    List<String> keys = store.list(StorageKeys.chunkRoot(tenant, batchId, chunk));
    for (String key : keys) {
      if (!key.contains("/seg-")) {
        continue;
      }
      int number = StorageKeys.segmentNumber(key);
      // A complete segment wins over a partial one of the same range.
      if (!StorageKeys.isPartialSegment(key) || !segments.containsKey(number)) {
        segments.put(number, key);
      }
    }
    BitSet answered = new BitSet();
    BitSet lost = new BitSet();
    for (Map.Entry<Integer, String> segment : segments.entrySet()) {
      String key = segment.getValue();
      if (salvage && !readable(key)) {
        int first = segment.getKey() * segmentLines;
        lost.set(first, first + segmentLines);
        continue;
      }
      try (var in = store.open(key)) {
        Segment.Summary summary =
            Segment.readChecked(
                json,
                in,
                (index, success, line) -> {
                  if (answered.get(index)) {
                    return;
                  }
                  answered.set(index);
                  byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
                  OutputStream target = success ? out : err;
                  target.write(bytes);
                  target.write('\n');
                  if (success) {
                    tally.completed++;
                  } else {
                    tally.failed++;
                  }
                });
        tally.usage = tally.usage.plus(summary.usage());
      }
    }
    String inputKey = StorageKeys.chunkInput(tenant, batchId, chunk);
    if (!store.exists(inputKey)) {
      return;
    }
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(store.open(inputKey), StandardCharsets.UTF_8), 64 * 1024)) {
      String line;
      int index = 0;
      while ((line = lines.readLine()) != null) {
        if (!answered.get(index)) {
          String customId = customIdOf(line);
          OutputLines.NoAnswer reason = missingReason;
          if (lost.get(index)) {
            reason = OutputLines.NoAnswer.RESULT_LOST;
            tally.lost++;
          }
          err.write(
              OutputLines.unanswered(
                  Ids.derivedRequestId(batchId, chunk, index), customId, reason, null));
          err.write('\n');
          tally.failed++;
        }
        index++;
      }
    }
  }

  /** The line's {@code custom_id}, read without building the line's tree. */
  private String customIdOf(String line) throws IOException {
    try (JsonParser parser = json.createParser(line)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return "";
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        if (parser.nextToken() == JsonToken.VALUE_STRING && field.equals("custom_id")) {
          return parser.getText();
        }
        parser.skipChildren();
      }
      return "";
    }
  }

  /** Whether a whole segment reads back; a salvage copies only those. */
  private boolean readable(String key) throws IOException {
    try (var in = store.open(key)) {
      Segment.readChecked(json, in, null);
      return true;
    } catch (CorruptSegmentException e) {
      log.warn("Skipping damaged checkpoint segment {}: {}", key, e.getMessage());
      return false;
    }
  }

  private static FileRecord resultFile(
      String tenant, String id, String filename, CountingStream written, long now) {
    return new FileRecord(
        id,
        tenant,
        filename,
        FileRecord.PURPOSE_BATCH_OUTPUT,
        written.count,
        now,
        null,
        FileRecord.STATUS_PROCESSED,
        StorageKeys.file(tenant, id));
  }

  private static final class Tally {
    long completed;
    long failed;
    long lost;
    Usage usage = Usage.ZERO;
  }

  private static final class CountingStream extends OutputStream {
    private final OutputStream target;
    long count;

    CountingStream(OutputStream target) {
      this.target = target;
    }

    @Override
    public void write(int b) throws IOException {
      target.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      target.write(b, off, len);
      count += len;
    }
  }
}
