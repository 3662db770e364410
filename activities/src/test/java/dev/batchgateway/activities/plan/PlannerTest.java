package dev.batchgateway.activities.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.store.FilesystemFileStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlannerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TENANT = "t1";
  private static final String BATCH = "batch_1";
  private static final String CHAT = "/v1/chat/completions";
  private static final String INPUT_KEY = "t1/files/file-input";

  @TempDir Path root;
  private FilesystemFileStore store;

  @BeforeEach
  void setUp() throws IOException {
    store = new FilesystemFileStore(root);
  }

  private static BatchSettings settings(int chunkLines, int maxRequests, int maxReportedErrors) {
    return new BatchSettings(
        chunkLines,
        2,
        maxRequests,
        maxReportedErrors,
        256,
        4,
        3,
        Duration.ofMillis(1),
        Duration.ofMillis(10),
        Duration.ofMillis(50));
  }

  private Plan plan(String content, BatchSettings settings, boolean sortByPrefix)
      throws IOException {
    store.write(
        INPUT_KEY, new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)), 1 << 30);
    return new Planner(JSON, store, settings)
        .plan(TENANT, BATCH, CHAT, INPUT_KEY, sortByPrefix, Set.of("m1", "m2")::contains, n -> {});
  }

  private static String chat(String customId, String model, String system) {
    String messages =
        (system == null ? "" : "{\"role\":\"system\",\"content\":\"" + system + "\"},")
            + "{\"role\":\"user\",\"content\":\"question of "
            + customId
            + "\"}";
    return "{\"custom_id\":\""
        + customId
        + "\",\"method\":\"POST\",\"url\":\""
        + CHAT
        + "\",\"body\":{\"model\":\""
        + model
        + "\",\"messages\":["
        + messages
        + "]}}";
  }

  private String chunkText(int chunk) throws IOException {
    try (InputStream in = store.open(StorageKeys.chunkInput(TENANT, BATCH, chunk))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private List<String> chunkLines(int chunk) throws IOException {
    String text = chunkText(chunk);
    assertThat(text).endsWith("\n");
    return List.of(text.substring(0, text.length() - 1).split("\n", -1));
  }

  private List<String> allChunkLines(int chunkCount) throws IOException {
    List<String> all = new ArrayList<>();
    for (int chunk = 0; chunk < chunkCount; chunk++) {
      all.addAll(chunkLines(chunk));
    }
    return all;
  }

  private List<String> batchObjects() throws IOException {
    return store.list(StorageKeys.batchRoot(TENANT, BATCH));
  }

  private static String groupOf(String line) throws IOException {
    JsonNode body = JSON.readTree(line).get("body");
    JsonNode first = body.get("messages").get(0);
    String system =
        first.path("role").asText().equals("system") ? first.path("content").asText() : "";
    return body.get("model").asText() + "|" + system;
  }

  private static int indexOf(String line) throws IOException {
    return Integer.parseInt(JSON.readTree(line).get("custom_id").asText().substring(2));
  }

  private static final List<String> MIXED =
      List.of(
          chat("r-0", "m1", "A"),
          chat("r-1", "m2", "A"),
          chat("r-2", "m1", "B"),
          chat("r-3", "m1", "A"),
          chat("r-4", "m2", "A"),
          chat("r-5", "m1", null),
          chat("r-6", "m1", "B"),
          chat("r-7", "m1", "A"));

  @Test
  void aValidFileIsCutIntoChunksHoldingExactlyItsLines() throws IOException {
    Plan plan = plan(String.join("\n", MIXED) + "\n", settings(3, 100, 10), true);

    assertThat(plan.valid()).isTrue();
    assertThat(plan.totalLines()).isEqualTo(8);
    assertThat(plan.chunkCount()).isEqualTo(3);
    assertThat(plan.model()).isEqualTo("m1");
    assertThat(chunkLines(0)).hasSize(3);
    assertThat(chunkLines(1)).hasSize(3);
    assertThat(chunkLines(2)).hasSize(2);
    assertThat(store.exists(StorageKeys.chunkInput(TENANT, BATCH, 3))).isFalse();
    assertThat(allChunkLines(3)).containsExactlyInAnyOrderElementsOf(MIXED);
  }

  @Test
  void sortingKeepsEachModelAndSystemPromptTogetherInInputOrder() throws IOException {
    Plan plan = plan(String.join("\n", MIXED) + "\n", settings(3, 100, 10), true);
    List<String> lines = allChunkLines(plan.chunkCount());

    List<String> groups = new ArrayList<>();
    List<String> models = new ArrayList<>();
    for (String line : lines) {
      groups.add(groupOf(line));
      models.add(JSON.readTree(line).at("/body/model").asText());
    }
    assertContiguous(groups);
    assertContiguous(models);
    for (String group : new HashSet<>(groups)) {
      List<Integer> order = new ArrayList<>();
      for (String line : lines) {
        if (groupOf(line).equals(group)) {
          order.add(indexOf(line));
        }
      }
      assertThat(order).as("input order inside group %s", group).isSorted();
    }
    // Sorting must change something for this input, or the test proves nothing.
    assertThat(lines).isNotEqualTo(MIXED);
  }

  /** Counts the ranged reads a plan makes, passing everything through to the folder store. */
  private static final class CountingStore implements FileStore {
    private final FileStore inner;
    int rangedReads;

    CountingStore(FileStore inner) {
      this.inner = inner;
    }

    @Override
    public Pending create(String key) throws IOException {
      return inner.create(key);
    }

    @Override
    public InputStream open(String key) throws IOException {
      return inner.open(key);
    }

    @Override
    public InputStream openRange(String key, long offset, long length) throws IOException {
      rangedReads++;
      return inner.openRange(key, offset, length);
    }

    @Override
    public boolean exists(String key) throws IOException {
      return inner.exists(key);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
      return inner.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
      inner.delete(key);
    }

    @Override
    public void deleteAll(String prefix) throws IOException {
      inner.deleteAll(prefix);
    }
  }

  @Test
  void chunksAreReadByRangesThatJoinNeighboursAndSkipDistantLines() throws IOException {
    // Two groups alternate; a line of group A is 100 KB, so two lines of group B are more than
    // 64 KiB apart and need their own reads, while group A's neighbours are read together.
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      lines.add(chat("r-" + (2 * i), "m1", "A" + "a".repeat(100_000)));
      lines.add(chat("r-" + (2 * i + 1), "m1", "B"));
    }
    store.write(
        INPUT_KEY,
        new ByteArrayInputStream(
            (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8)),
        1 << 30);
    CountingStore counting = new CountingStore(store);

    Plan sorted =
        new Planner(JSON, counting, settings(8, 100, 10))
            .plan(TENANT, BATCH, CHAT, INPUT_KEY, true, Set.of("m1")::contains, n -> {});

    assertThat(sorted.chunkCount()).isEqualTo(2);
    List<String> first = chunkLines(0);
    List<String> second = chunkLines(1);
    assertThat(first.stream().map(l -> l.contains("\"A")).distinct()).hasSize(1);
    assertThat(second.stream().map(l -> l.contains("\"A")).distinct()).hasSize(1);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 16; i += 2) {
      expected.add(lines.get(i));
    }
    for (int i = 1; i < 16; i += 2) {
      expected.add(lines.get(i));
    }
    assertThat(allChunkLines(2)).containsExactlyElementsOf(expected);
    // Group A (chunk 0): its lines are one small line apart, so one read; group B: eight reads.
    assertThat(counting.rangedReads).isEqualTo(1 + 8);

    counting.rangedReads = 0;
    Plan unsorted =
        new Planner(JSON, counting, settings(8, 100, 10))
            .plan(TENANT, BATCH, CHAT, INPUT_KEY, false, Set.of("m1")::contains, n -> {});

    assertThat(unsorted.chunkCount()).isEqualTo(2);
    assertThat(allChunkLines(2)).containsExactlyElementsOf(lines);
    assertThat(counting.rangedReads).isEqualTo(2);
  }

  private static void assertContiguous(List<String> keys) {
    Set<String> closed = new HashSet<>();
    String current = null;
    for (String key : keys) {
      if (!key.equals(current)) {
        assertThat(closed).as("group %s appears in two places: %s", key, keys).doesNotContain(key);
        if (current != null) {
          closed.add(current);
        }
        current = key;
      }
    }
  }

  @Test
  void withoutSortingChunksKeepInputOrder() throws IOException {
    Plan plan = plan(String.join("\n", MIXED) + "\n", settings(3, 100, 10), false);

    assertThat(plan.chunkCount()).isEqualTo(3);
    assertThat(allChunkLines(3)).containsExactlyElementsOf(MIXED);
  }

  @Test
  void crlfLinesAndBlankLinesAreHandled() throws IOException {
    String content =
        chat("r-0", "m1", "A")
            + "\r\n\r\n"
            + chat("r-1", "m1", "A")
            + "\r\n  \t \r\n"
            + chat("r-2", "m1", "A");

    Plan plan = plan(content, settings(10, 100, 10), false);

    assertThat(plan.valid()).isTrue();
    assertThat(plan.totalLines()).isEqualTo(3);
    assertThat(chunkText(0)).doesNotContain("\r");
    assertThat(chunkLines(0))
        .containsExactly(chat("r-0", "m1", "A"), chat("r-1", "m1", "A"), chat("r-2", "m1", "A"));
  }

  @Test
  void blankLinesStillCountForLineNumbers() throws IOException {
    String content =
        chat("r-0", "m1", "A")
            + "\r\n\r\n"
            + chat("r-1", "m1", "A")
            + "\r\n   \r\n"
            + "not json\r\n"
            + chat("r-2", "m1", "A")
            + "\r\n";

    Plan plan = plan(content, settings(10, 100, 10), false);

    assertThat(plan.valid()).isFalse();
    assertThat(plan.errors())
        .extracting(BatchError::code, BatchError::line)
        .containsExactly(tuple("invalid_json_line", 5));
    assertThat(batchObjects()).isEmpty();
  }

  @Test
  void linesLongerThanTheReadBufferArriveIntact() throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      lines.add(chat("r-" + i, i % 2 == 0 ? "m1" : "m2", "S" + (i % 3)));
    }
    lines.add(chat("r-3000", "m1", "x".repeat(150_000)));
    Plan plan = plan(String.join("\r\n", lines) + "\r\n", settings(700, 10_000, 10), true);

    assertThat(plan.valid()).isTrue();
    assertThat(plan.totalLines()).isEqualTo(3001);
    assertThat(plan.chunkCount()).isEqualTo(5);
    assertThat(allChunkLines(5)).containsExactlyInAnyOrderElementsOf(lines);
  }

  private static BatchSettings limited(int maxLineBytes, int maxJsonDepth, long chunkBytes) {
    return settings(100, 100, 10)
        .withLimits(new BatchSettings.Limits(maxLineBytes, maxJsonDepth, chunkBytes, 1 << 20));
  }

  @Test
  void aLineOverMaxLineSizeFailsWithItsLineNumber() throws IOException {
    String fits = chat("r-1", "m1", "x".repeat(300));
    String huge = chat("r-2", "m1", "y".repeat(5_000_000));
    String content =
        chat("r-0", "m1", "A") + "\n" + fits + "\r\n" + huge + "\n" + chat("r-3", "m1", "A");

    Plan plan = plan(content, limited(fits.length(), 32, 1 << 20), false);

    assertThat(plan.valid()).isFalse();
    assertThat(plan.totalLines()).isEqualTo(4);
    assertThat(plan.errors())
        .containsExactly(
            new BatchError(
                "line_too_large",
                "This line is "
                    + huge.length()
                    + " bytes; a line may be at most "
                    + fits.length()
                    + " bytes (batches.maxLineSize).",
                null,
                3));
    assertThat(batchObjects()).isEmpty();
  }

  @Test
  void aLineNestedDeeperThanMaxJsonDepthFails() throws IOException {
    String deep = "[".repeat(40) + "]".repeat(40);
    String line =
        "{\"custom_id\":\"r-1\",\"method\":\"POST\",\"url\":\""
            + CHAT
            + "\",\"body\":{\"model\":\"m1\",\"messages\":[],\"x\":"
            + deep
            + "}}";
    String content = chat("r-0", "m1", "A") + "\n" + line + "\n";

    Plan plan = plan(content, limited(1 << 20, 32, 1 << 20), false);

    assertThat(plan.errors())
        .extracting(BatchError::code, BatchError::line)
        .containsExactly(tuple("json_too_deep", 2));
    assertThat(plan.errors().getFirst().message()).contains("32 levels").contains("maxJsonDepth");
  }

  @Test
  void aLongDuplicateCustomIdIsQuotedShortened() throws IOException {
    String id = "d".repeat(100_000);
    String content = chat(id, "m1", "A") + "\n" + chat(id, "m1", "A") + "\n";

    Plan plan = plan(content, settings(10, 100, 10), false);

    assertThat(plan.errors()).extracting(BatchError::code).containsExactly("duplicate_custom_id");
    assertThat(plan.errors().getFirst().message())
        .hasSizeLessThan(400)
        .contains("d".repeat(256) + "...'");
  }

  @Test
  void aBatchTooSmallToFillItsChunksIsSpreadOverSmallerOnes() throws IOException {
    BatchSettings spread = settings(2000, 50_000, 10).withSpreadChunks(4);
    for (int[] batch : new int[][] {{1000, 4, 250}, {250, 3, 100}, {40, 1, 40}, {9000, 5, 2000}}) {
      int requests = batch[0];
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        lines.add(chat("r-" + i, "m1", "A"));
      }
      Plan plan = plan(String.join("\n", lines) + "\n", spread, false);

      assertThat(plan.chunkCount()).as("chunks of %d lines", requests).isEqualTo(batch[1]);
      assertThat(chunkLines(0)).as("first chunk of %d lines", requests).hasSize(batch[2]);
      assertThat(allChunkLines(plan.chunkCount())).containsExactlyElementsOf(lines);
    }
  }

  @Test
  void chunksEndAtChunkBytesAsWellAsAtChunkLines() throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      lines.add(chat("r-" + i, "m1", "A" + "z".repeat(i == 4 ? 900 : 0)));
    }
    int small = lines.get(0).length() + 1;
    // Three small lines fit a chunk; the long one fits only a chunk of its own.
    Plan plan = plan(String.join("\n", lines) + "\n", limited(2000, 32, 3L * small + 2), false);

    assertThat(plan.valid()).isTrue();
    List<List<String>> chunks = new ArrayList<>();
    for (int chunk = 0; chunk < plan.chunkCount(); chunk++) {
      chunks.add(chunkLines(chunk));
    }
    assertThat(chunks).extracting(List::size).containsExactly(3, 1, 1, 3, 2);
    assertThat(allChunkLines(plan.chunkCount())).containsExactlyElementsOf(lines);
  }

  @Test
  void aDuplicateCustomIdIsReportedAtItsSecondLine() throws IOException {
    String content =
        String.join(
            "\n",
            chat("r-a", "m1", "A"),
            "",
            chat("r-b", "m1", "A"),
            chat("r-a", "m1", "B"),
            chat("r-c", "m1", "A"));

    Plan plan = plan(content, settings(10, 100, 10), true);

    assertThat(plan.valid()).isFalse();
    assertThat(plan.errors()).hasSize(1);
    BatchError error = plan.errors().get(0);
    assertThat(error.code()).isEqualTo("duplicate_custom_id");
    assertThat(error.param()).isEqualTo("custom_id");
    assertThat(error.line()).isEqualTo(4);
    assertThat(error.message()).contains("r-a");
    assertThat(batchObjects()).isEmpty();
  }

  @Test
  void everyBadLineIsListedWithItsLineNumber() throws IOException {
    String content =
        String.join(
            "\n",
            chat("r-0", "m1", "A"),
            chat("r-1", "unknown", "A"),
            chat("r-2", "m1", "A"),
            "{}",
            chat("r-4", "m1", "A"));

    Plan plan = plan(content, settings(10, 100, 10), true);

    assertThat(plan.errors())
        .extracting(BatchError::code, BatchError::line)
        .containsExactly(tuple("model_not_found", 2), tuple("missing_required_parameter", 4));
    assertThat(plan.chunkCount()).isZero();
    assertThat(batchObjects()).isEmpty();
  }

  @Test
  void anEmptyFileIsEmptyFile() throws IOException {
    Plan plan = plan("", settings(10, 100, 10), true);

    assertThat(plan.valid()).isFalse();
    assertThat(plan.errors())
        .singleElement()
        .satisfies(
            error -> {
              assertThat(error.code()).isEqualTo("empty_file");
              assertThat(error.line()).isNull();
              assertThat(error.param()).isNull();
            });
    assertThat(batchObjects()).isEmpty();
  }

  @Test
  void aFileOfBlankLinesIsEmptyFile() throws IOException {
    Plan plan = plan("\n\r\n   \n\t\n", settings(10, 100, 10), true);

    assertThat(plan.errors()).extracting(BatchError::code).containsExactly("empty_file");
    assertThat(plan.totalLines()).isZero();
  }

  @Test
  void moreThanMaxRequestsIsTooManyRequests() throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      lines.add(chat("r-" + i, "m1", "A"));
    }

    Plan plan = plan(String.join("\n", lines), settings(10, 3, 10), true);

    assertThat(plan.valid()).isFalse();
    assertThat(plan.totalLines()).isEqualTo(5);
    BatchError first = plan.errors().get(0);
    assertThat(first.code()).isEqualTo("too_many_requests");
    assertThat(first.line()).isNull();
    assertThat(first.message()).contains("5").contains("3");
    assertThat(batchObjects()).isEmpty();
  }

  @Test
  void exactlyMaxRequestsIsAllowed() throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      lines.add(chat("r-" + i, "m1", "A"));
    }

    Plan plan = plan(String.join("\n", lines), settings(10, 3, 10), true);

    assertThat(plan.valid()).isTrue();
    assertThat(plan.chunkCount()).isEqualTo(1);
  }

  @Test
  void theErrorListIsCappedAndSaysHowManyMoreFailed() throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      lines.add("broken " + i);
    }
    lines.add(chat("r-ok", "m1", "A"));

    Plan plan = plan(String.join("\n", lines), settings(10, 100, 3), true);

    assertThat(plan.errors()).hasSize(4);
    assertThat(plan.errors().subList(0, 3))
        .extracting(BatchError::code, BatchError::line)
        .containsExactly(
            tuple("invalid_json_line", 1),
            tuple("invalid_json_line", 2),
            tuple("invalid_json_line", 3));
    BatchError last = plan.errors().get(3);
    assertThat(last.code()).isEqualTo("too_many_errors");
    assertThat(last.message()).contains("5 more");
    assertThat(last.line()).isNull();
    assertThat(batchObjects()).isEmpty();
  }

  @Test
  void errorsUpToTheCapNeedNoSummary() throws IOException {
    String content = String.join("\n", "bad 1", "bad 2", "bad 3");

    Plan plan = plan(content, settings(10, 100, 3), true);

    assertThat(plan.errors())
        .hasSize(3)
        .extracting(BatchError::code)
        .containsOnly("invalid_json_line");
  }
}
