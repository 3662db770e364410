package dev.batchgateway.activities.finalize;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.Ids;
import dev.batchgateway.activities.StorageKeys;
import dev.batchgateway.activities.chunk.OutputLines;
import dev.batchgateway.activities.chunk.Segment;
import dev.batchgateway.activities.model.FileRecord;
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
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Joins the checkpoint segments of every chunk into the batch's output and error files. Lines with
 * no saved result become error lines whose code says why (cancelled, expired, failed), so every
 * {@code custom_id} appears exactly once across the two files. Repeating it gives the same files.
 */
public final class Finalizer {
  private final ObjectMapper json;
  private final FileStore store;
  private final MetadataStore metadata;
  private final Clock clock;

  public Finalizer(ObjectMapper json, FileStore store, MetadataStore metadata, Clock clock) {
    this.json = json;
    this.store = store;
    this.metadata = metadata;
    this.clock = clock;
  }

  public FinalizeResult finalizeBatch(FinalizeRequest request, Runnable heartbeat)
      throws IOException {
    String tenant = request.tenant();
    String batchId = request.batchId();
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
        joinChunk(tenant, batchId, chunk, reason, out, err, tally);
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
      OutputStream out,
      OutputStream err,
      Tally tally)
      throws IOException {
    Map<Integer, String> segments = new HashMap<>();
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
    for (String key : segments.values()) {
      try (var in = store.open(key)) {
        Segment.Summary summary =
            Segment.read(
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
          err.write(
              OutputLines.unanswered(
                  Ids.derivedRequestId(batchId, chunk, index), customId, missingReason, null));
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
