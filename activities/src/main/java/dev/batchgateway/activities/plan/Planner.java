package dev.batchgateway.activities.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.port.FileStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.LongConsumer;
import java.util.function.Predicate;

/**
 * Validates an input file in one streaming pass, orders its lines by (model, prefix key) and writes
 * them out as chunk files. Memory holds a small index entry per line, never the payloads.
 */
public final class Planner {
  private static final int PROGRESS_EVERY_LINES = 5_000;

  private final ObjectMapper json;
  private final FileStore store;
  private final BatchSettings settings;

  /**
   * One line's JSON tree at a time on this worker, however many plans run: a tree can take about 30
   * times its line's bytes (a line of empty objects), so this keeps planning's memory at one tree
   * of {@code maxLineSize} rather than one per lifecycle activity slot. Parsing a line takes
   * microseconds, so plans hardly wait for each other.
   */
  private final Semaphore trees = new Semaphore(1);

  public Planner(ObjectMapper json, FileStore store, BatchSettings settings) {
    this.json = json;
    this.store = store;
    this.settings = settings;
  }

  /**
   * @param progress told the number of lines read now and then, so the activity can heartbeat
   */
  public Plan plan(
      String tenant,
      String batchId,
      String endpoint,
      String inputKey,
      boolean sortByPrefix,
      Predicate<String> modelServed,
      LongConsumer progress)
      throws IOException {
    LineValidator validator =
        new LineValidator(
            json, endpoint, modelServed, settings.completionPrefixChars(), settings.limits());
    LineIndex index = new LineIndex();
    CustomIds customIds = new CustomIds();
    Map<String, Integer> models = new HashMap<>();
    String firstModel = null;
    ErrorList errors = new ErrorList(settings.maxReportedErrors());
    long requests = 0;
    int lineNumber = 0;

    try (InputStream in = store.open(inputKey)) {
      LineReader reader = new LineReader(in, settings.limits().maxLineBytes());
      while (reader.next()) {
        lineNumber++;
        if (lineNumber % PROGRESS_EVERY_LINES == 0) {
          progress.accept(lineNumber);
        }
        if (!reader.tooLong() && reader.isBlank()) {
          continue;
        }
        requests++;
        if (requests > settings.maxRequests()) {
          continue;
        }
        if (reader.tooLong()) {
          errors.add(validator.tooLarge(reader.fullLength(), lineNumber));
          continue;
        }
        LineValidator.Verdict verdict;
        trees.acquireUninterruptibly();
        try {
          verdict = validator.check(reader.bytes(), reader.length(), lineNumber);
        } finally {
          trees.release();
        }
        if (verdict.error() != null) {
          errors.add(verdict.error());
          continue;
        }
        LineValidator.ValidLine line = verdict.line();
        if (!customIds.add(line.customId())) {
          errors.add(
              new BatchError(
                  "duplicate_custom_id",
                  "The custom_id '"
                      + LineValidator.shown(line.customId())
                      + "' appears more than once; each custom_id must be unique in the file.",
                  "custom_id",
                  lineNumber));
          continue;
        }
        if (firstModel == null) {
          firstModel = line.model();
        }
        int modelId = models.computeIfAbsent(line.model(), m -> models.size());
        index.add(reader.offset(), reader.length(), modelId, line.prefixKey());
      }
    }

    if (requests == 0) {
      errors.add(new BatchError("empty_file", "The input file has no requests.", null, null));
    } else if (requests > settings.maxRequests()) {
      errors.addFirst(
          new BatchError(
              "too_many_requests",
              "The input file has "
                  + requests
                  + " requests; a batch may hold at most "
                  + settings.maxRequests()
                  + ".",
              null,
              null));
    }
    if (!errors.isEmpty()) {
      return new Plan(requests, 0, firstModel, errors.toList());
    }

    int[] order = sortByPrefix ? index.sortedOrder() : index.inputOrder();
    int chunkCount = writeChunks(tenant, batchId, inputKey, index, order, progress);
    return new Plan(requests, chunkCount, firstModel, List.of());
  }

  private int writeChunks(
      String tenant,
      String batchId,
      String inputKey,
      LineIndex index,
      int[] order,
      LongConsumer progress)
      throws IOException {
    int chunkLines = settings.chunkLinesFor(order.length);
    long chunkBytes = settings.limits().chunkBytes();
    ChunkBuffer chunk = new ChunkBuffer(inputKey);
    int chunkCount = 0;
    int next = 0;
    while (next < order.length) {
      // A chunk ends at chunkLines lines or before chunkBytes bytes; its first line always fits,
      // since no line is longer than maxLineSize <= chunkBytes.
      int first = next;
      long bytes = 0;
      while (next < order.length && next - first < chunkLines) {
        long size = index.length(order[next]) + 1L;
        if (next > first && bytes + size > chunkBytes) {
          break;
        }
        bytes += size;
        next++;
      }
      int size = chunk.fill(index, Arrays.copyOfRange(order, first, next));
      try (FileStore.Pending pending =
          store.create(StorageKeys.chunkInput(tenant, batchId, chunkCount))) {
        pending.stream().write(chunk.bytes, 0, size);
        pending.commit();
      }
      chunkCount++;
      progress.accept(next);
    }
    return chunkCount;
  }

  /**
   * One chunk's lines in the chunk's order, read from the input by ranges: the lines are visited in
   * input order, and neighbours less than {@link #MAX_GAP} apart share one read. A chunk in input
   * order is one read; a sorted chunk takes one read per stretch of the input it draws on. Holds at
   * most {@code chunkBytes}, as a chunk runner does.
   */
  private final class ChunkBuffer {
    private static final long MAX_GAP = 64 * 1024;
    private final String inputKey;
    private byte[] bytes = new byte[0];

    ChunkBuffer(String inputKey) {
      this.inputKey = inputKey;
    }

    /** Reads {@code lines} (indexes into the input) one after another; returns the byte count. */
    int fill(LineIndex index, int[] lines) throws IOException {
      int[] target = new int[lines.length];
      int size = 0;
      for (int i = 0; i < lines.length; i++) {
        target[i] = size;
        size += index.length(lines[i]) + 1;
      }
      if (bytes.length < size) {
        bytes = new byte[size];
      }
      Integer[] byOffset = new Integer[lines.length];
      Arrays.setAll(byOffset, i -> i);
      Arrays.sort(byOffset, (a, b) -> Long.compare(index.offset(lines[a]), index.offset(lines[b])));
      int runStart = 0;
      while (runStart < lines.length) {
        long start = index.offset(lines[byOffset[runStart]]);
        long end = start + index.length(lines[byOffset[runStart]]);
        int runEnd = runStart + 1;
        while (runEnd < lines.length && index.offset(lines[byOffset[runEnd]]) - end <= MAX_GAP) {
          int line = lines[byOffset[runEnd]];
          end = index.offset(line) + index.length(line);
          runEnd++;
        }
        try (InputStream in = store.openRange(inputKey, start, end - start)) {
          long position = start;
          for (int r = runStart; r < runEnd; r++) {
            int line = lines[byOffset[r]];
            int length = index.length(line);
            int at = target[byOffset[r]];
            in.skipNBytes(index.offset(line) - position);
            if (in.readNBytes(bytes, at, length) < length) {
              throw new IOException("The input file is shorter than when it was indexed");
            }
            bytes[at + length] = '\n';
            position = index.offset(line) + length;
          }
        }
        runStart = runEnd;
      }
      return size;
    }
  }

  /**
   * The custom_ids seen, as 128-bit digests: a fixed 16 bytes an id, however long the ids are (they
   * are bounded only by the line), at odds of a false duplicate of about 2^-100.
   */
  private static final class CustomIds {
    private final Set<Digest> seen = new HashSet<>();
    private final MessageDigest sha256;

    private record Digest(long high, long low) {}

    CustomIds() {
      try {
        sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("Every JDK has SHA-256", e);
      }
    }

    /** False when the id was seen before. */
    boolean add(String customId) {
      ByteBuffer hash = ByteBuffer.wrap(sha256.digest(customId.getBytes(StandardCharsets.UTF_8)));
      return seen.add(new Digest(hash.getLong(), hash.getLong()));
    }
  }

  /** Validation errors up to a cap; past it only counted, then summarized in one last entry. */
  private static final class ErrorList {
    private final int cap;
    private final List<BatchError> errors = new ArrayList<>();
    private long dropped;

    ErrorList(int cap) {
      this.cap = cap;
    }

    void add(BatchError error) {
      if (errors.size() < cap) {
        errors.add(error);
      } else {
        dropped++;
      }
    }

    void addFirst(BatchError error) {
      errors.add(0, error);
    }

    boolean isEmpty() {
      return errors.isEmpty();
    }

    List<BatchError> toList() {
      List<BatchError> all = new ArrayList<>(errors);
      if (dropped > 0) {
        all.add(
            new BatchError(
                "too_many_errors",
                "Only the first " + cap + " errors are listed; " + dropped + " more lines failed.",
                null,
                null));
      }
      return all;
    }
  }

  /** Per-line offsets and sort keys in primitive arrays: about 24 bytes a line. */
  private static final class LineIndex {
    private long[] offsets = new long[1024];
    private int[] lengths = new int[1024];
    private int[] modelIds = new int[1024];
    private long[] prefixKeys = new long[1024];
    private int size;

    void add(long offset, int length, int modelId, long prefixKey) {
      if (size == offsets.length) {
        int capacity = size * 2;
        offsets = Arrays.copyOf(offsets, capacity);
        lengths = Arrays.copyOf(lengths, capacity);
        modelIds = Arrays.copyOf(modelIds, capacity);
        prefixKeys = Arrays.copyOf(prefixKeys, capacity);
      }
      offsets[size] = offset;
      lengths[size] = length;
      modelIds[size] = modelId;
      prefixKeys[size] = prefixKey;
      size++;
    }

    long offset(int line) {
      return offsets[line];
    }

    int length(int line) {
      return lengths[line];
    }

    int[] inputOrder() {
      int[] order = new int[size];
      Arrays.setAll(order, i -> i);
      return order;
    }

    /** Stable order by (model, prefix key): groups stay together, lines keep their input order. */
    int[] sortedOrder() {
      Integer[] boxed = new Integer[size];
      Arrays.setAll(boxed, i -> i);
      Arrays.sort(
          boxed,
          (a, b) -> {
            int byModel = Integer.compare(modelIds[a], modelIds[b]);
            if (byModel != 0) {
              return byModel;
            }
            int byPrefix = Long.compare(prefixKeys[a], prefixKeys[b]);
            return byPrefix != 0 ? byPrefix : Integer.compare(a, b);
          });
      int[] order = new int[size];
      for (int i = 0; i < size; i++) {
        order[i] = boxed[i];
      }
      return order;
    }
  }
}
