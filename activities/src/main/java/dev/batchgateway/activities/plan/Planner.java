package dev.batchgateway.activities.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.StorageKeys;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.port.FileStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
    Optional<Path> local = store.localPath(inputKey);
    Path path = local.orElse(null);
    if (path == null) {
      path = Files.createTempFile("batch-input-", ".jsonl");
      try (InputStream in = store.open(inputKey)) {
        Files.copy(in, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    int chunkLines = settings.chunkLines();
    long chunkBytes = settings.limits().chunkBytes();
    int chunkCount = 0;
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
      int next = 0;
      while (next < order.length) {
        try (FileStore.Pending pending =
            store.create(StorageKeys.chunkInput(tenant, batchId, chunkCount))) {
          OutputStream out = pending.stream();
          int lines = 0;
          long bytes = 0;
          // A chunk ends at chunkLines lines or before chunkBytes bytes; its first line always
          // fits,
          // since no line is longer than maxLineSize <= chunkBytes.
          while (next < order.length && lines < chunkLines) {
            int line = order[next];
            long size = index.length(line) + 1L;
            if (lines > 0 && bytes + size > chunkBytes) {
              break;
            }
            buffer = copyLine(channel, index.offset(line), index.length(line), buffer, out);
            bytes += size;
            lines++;
            next++;
          }
          pending.commit();
        }
        chunkCount++;
        progress.accept(next);
      }
    } finally {
      if (local.isEmpty()) {
        Files.deleteIfExists(path);
      }
    }
    return chunkCount;
  }

  private static ByteBuffer copyLine(
      FileChannel channel, long offset, int length, ByteBuffer buffer, OutputStream out)
      throws IOException {
    if (buffer.capacity() < length) {
      buffer = ByteBuffer.allocate(length);
    }
    buffer.clear().limit(length);
    long position = offset;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, position);
      if (n < 0) {
        throw new IOException("The input file is shorter than when it was indexed");
      }
      position += n;
    }
    out.write(buffer.array(), 0, length);
    out.write('\n');
    return buffer;
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
