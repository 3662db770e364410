package dev.batchgateway.activities.finalize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
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
import dev.batchgateway.activities.store.FilesystemFileStore;
import dev.batchgateway.activities.testing.RecordingMetadataStore;
import dev.batchgateway.workflows.BatchProblem;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.FinalizeRequest;
import dev.batchgateway.workflows.FinalizeResult;
import dev.batchgateway.workflows.RequestCounts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FinalizerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TENANT = "t1";
  private static final String BATCH = "batch_abc";
  private static final long NOW = 1_700_000_000L;
  private static final int SEGMENT_LINES = 2;
  private static final Usage ONE_OK = new Usage(10, 2, 5, 1, 15);
  private static final String OK_BODY =
      "{\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,"
          + "\"total_tokens\":15}}";
  private static final String BAD_REQUEST =
      "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":null,"
          + "\"code\":null}}";

  @TempDir Path root;
  private FilesystemFileStore store;
  private RecordingMetadataStore metadata;
  private Finalizer finalizer;

  @BeforeEach
  void setUp() throws IOException {
    store = new FilesystemFileStore(root);
    metadata = new RecordingMetadataStore();
    finalizer =
        new Finalizer(
            JSON,
            store,
            metadata,
            Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC),
            SEGMENT_LINES);
  }

  private void writeInput(int chunk, String... customIds) throws IOException {
    StringBuilder text = new StringBuilder();
    for (String id : customIds) {
      text.append("{\"custom_id\":\"")
          .append(id)
          .append("\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",")
          .append("\"body\":{\"model\":\"m1\",\"messages\":[]}}\n");
    }
    store.write(
        StorageKeys.chunkInput(TENANT, BATCH, chunk),
        new ByteArrayInputStream(text.toString().getBytes(StandardCharsets.UTF_8)),
        1 << 20);
  }

  private void writeSegment(String key, Segment.Summary summary, Segment.Entry... entries)
      throws IOException {
    try (FileStore.Pending pending = store.create(key)) {
      Segment.write(JSON, pending.stream(), summary, List.of(entries));
      pending.commit();
    }
  }

  private static Segment.Entry ok(int index, String customId, String requestId) {
    return new Segment.Entry(
        index, true, OutputLines.answered(customId, 200, requestId, tree(OK_BODY)));
  }

  private static Segment.Entry bad(int index, String customId) {
    return new Segment.Entry(
        index, false, OutputLines.answered(customId, 400, "req-bad", tree(BAD_REQUEST)));
  }

  private static Usage times(Usage usage, int n) {
    Usage sum = Usage.ZERO;
    for (int i = 0; i < n; i++) {
      sum = sum.plus(usage);
    }
    return sum;
  }

  /**
   * Chunk 0: r-0 ok and r-1 400 in a complete segment, r-2 ok in a partial one, r-3 and r-4
   * unanswered. Chunk 1: r-5 and r-6 ok, r-7 to r-9 unanswered.
   */
  private void writeMixedBatch() throws IOException {
    writeInput(0, "r-0", "r-1", "r-2", "r-3", "r-4");
    writeInput(1, "r-5", "r-6", "r-7", "r-8", "r-9");
    writeSegment(
        StorageKeys.segment(TENANT, BATCH, 0, 0),
        new Segment.Summary(1, 1, ONE_OK),
        ok(0, "r-0", "req-0"),
        bad(1, "r-1"));
    writeSegment(
        StorageKeys.partialSegment(TENANT, BATCH, 0, 1),
        new Segment.Summary(1, 0, ONE_OK),
        ok(2, "r-2", "req-2"));
    writeSegment(
        StorageKeys.segment(TENANT, BATCH, 1, 0),
        new Segment.Summary(2, 0, times(ONE_OK, 2)),
        ok(0, "r-5", "req-5"),
        ok(1, "r-6", "req-6"));
  }

  private FinalizeResult finalizeBatch(int chunkCount, long total, BatchStatus status)
      throws IOException {
    return finalizer.finalizeBatch(
        new FinalizeRequest(BATCH, TENANT, chunkCount, total, status, List.of()), () -> {});
  }

  private String fileText(String fileId) throws IOException {
    try (InputStream in = store.open(StorageKeys.file(TENANT, fileId))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private List<JsonNode> fileLines(String fileId) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : fileText(fileId).split("\n")) {
      lines.add(JSON.readTree(line));
    }
    return lines;
  }

  private static List<String> customIds(List<JsonNode> lines) {
    return lines.stream().map(line -> line.get("custom_id").asText()).toList();
  }

  private static JsonNode lineFor(List<JsonNode> lines, String customId) {
    return lines.stream()
        .filter(line -> line.get("custom_id").asText().equals(customId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line for " + customId));
  }

  @ParameterizedTest
  @CsvSource({"CANCELLED, batch_cancelled", "EXPIRED, batch_expired", "COMPLETED, batch_failed"})
  void savedResultsAndUnansweredLinesAreSplitIntoOutputAndErrorFiles(
      BatchStatus status, String missingCode) throws IOException {
    writeMixedBatch();

    FinalizeResult result = finalizeBatch(2, 10, status);

    assertThat(result.counts()).isEqualTo(new RequestCounts(10, 4, 6));
    assertThat(result.outputFileId()).isEqualTo(Ids.derivedFileId(BATCH, "output"));
    assertThat(result.errorFileId()).isEqualTo(Ids.derivedFileId(BATCH, "error"));
    List<JsonNode> output = fileLines(result.outputFileId());
    List<JsonNode> errors = fileLines(result.errorFileId());
    assertThat(customIds(output)).containsExactlyInAnyOrder("r-0", "r-2", "r-5", "r-6");
    for (JsonNode line : output) {
      assertThat(line.at("/response/status_code").asInt()).isEqualTo(200);
      assertThat(line.get("error").isNull()).isTrue();
    }
    assertThat(customIds(errors))
        .containsExactlyInAnyOrder("r-1", "r-3", "r-4", "r-7", "r-8", "r-9");
    JsonNode rejected = lineFor(errors, "r-1");
    assertThat(rejected.at("/response/status_code").asInt()).isEqualTo(400);
    assertThat(rejected.at("/response/body")).isEqualTo(JSON.readTree(BAD_REQUEST));
    assertThat(rejected.get("error").isNull()).isTrue();
    for (String missing : List.of("r-3", "r-4", "r-7", "r-8", "r-9")) {
      JsonNode line = lineFor(errors, missing);
      assertThat(line.get("response").isNull()).as(missing).isTrue();
      assertThat(line.at("/error/code").asText()).as(missing).isEqualTo(missingCode);
      assertThat(line.get("id").asText()).startsWith("batch_req_");
    }
    List<String> everyId = new ArrayList<>(customIds(output));
    everyId.addAll(customIds(errors));
    assertThat(everyId)
        .doesNotHaveDuplicates()
        .containsExactlyInAnyOrder(
            "r-0", "r-1", "r-2", "r-3", "r-4", "r-5", "r-6", "r-7", "r-8", "r-9");
  }

  @Test
  void theMetadataStoreLearnsCountsUsageAndFiles() throws IOException {
    writeMixedBatch();

    FinalizeResult result = finalizeBatch(2, 10, BatchStatus.COMPLETED);

    assertThat(metadata.completions).hasSize(1);
    RecordingMetadataStore.CompleteCall call = metadata.completions.get(0);
    assertThat(call.tenant()).isEqualTo(TENANT);
    assertThat(call.batchId()).isEqualTo(BATCH);
    assertThat(call.terminal()).isEqualTo(BatchStatus.COMPLETED);
    assertThat(call.counts()).isEqualTo(new RequestCounts(10, 4, 6));
    assertThat(call.usage()).isEqualTo(times(ONE_OK, 4));
    assertThat(call.atEpochSeconds()).isEqualTo(NOW);
    assertResultFile(call.outputFile(), result.outputFileId(), "batch_output_" + BATCH + ".jsonl");
    assertResultFile(call.errorFile(), result.errorFileId(), "batch_error_" + BATCH + ".jsonl");
  }

  private void assertResultFile(FileRecord file, String id, String filename) throws IOException {
    assertThat(file.id()).isEqualTo(id);
    assertThat(file.tenant()).isEqualTo(TENANT);
    assertThat(file.filename()).isEqualTo(filename);
    assertThat(file.purpose()).isEqualTo(FileRecord.PURPOSE_BATCH_OUTPUT);
    assertThat(file.status()).isEqualTo(FileRecord.STATUS_PROCESSED);
    assertThat(file.createdAt()).isEqualTo(NOW);
    assertThat(file.storageKey()).isEqualTo(StorageKeys.file(TENANT, id));
    assertThat(file.bytes()).isEqualTo(fileText(id).getBytes(StandardCharsets.UTF_8).length);
  }

  @Test
  void aCompleteSegmentWinsOverAPartialOneOfTheSameNumber() throws IOException {
    writeInput(0, "r-0", "r-1");
    writeSegment(
        StorageKeys.segment(TENANT, BATCH, 0, 0),
        new Segment.Summary(2, 0, times(ONE_OK, 2)),
        ok(0, "r-0", "from-complete"),
        ok(1, "r-1", "from-complete"));
    writeSegment(
        StorageKeys.partialSegment(TENANT, BATCH, 0, 0),
        new Segment.Summary(0, 1, new Usage(1000, 0, 1000, 0, 2000)),
        bad(0, "r-0"));

    FinalizeResult result = finalizeBatch(1, 2, BatchStatus.COMPLETED);

    assertThat(result.counts()).isEqualTo(new RequestCounts(2, 2, 0));
    assertThat(result.errorFileId()).isNull();
    List<JsonNode> output = fileLines(result.outputFileId());
    assertThat(customIds(output)).containsExactlyInAnyOrder("r-0", "r-1");
    assertThat(output)
        .extracting(line -> line.at("/response/request_id").asText())
        .containsOnly("from-complete");
    assertThat(metadata.completions.get(0).usage()).isEqualTo(times(ONE_OK, 2));
  }

  @Test
  void whenNothingSucceededThereIsNoOutputFile() throws IOException {
    writeInput(0, "r-0", "r-1");

    FinalizeResult result = finalizeBatch(1, 2, BatchStatus.CANCELLED);

    assertThat(result.counts()).isEqualTo(new RequestCounts(2, 0, 2));
    assertThat(result.outputFileId()).isNull();
    assertThat(store.exists(StorageKeys.file(TENANT, Ids.derivedFileId(BATCH, "output"))))
        .isFalse();
    assertThat(customIds(fileLines(result.errorFileId()))).containsExactlyInAnyOrder("r-0", "r-1");
    assertThat(metadata.completions.get(0).outputFile()).isNull();
    assertThat(metadata.completions.get(0).usage()).isEqualTo(Usage.ZERO);
    assertThat(store.list(TENANT + "/files/")).hasSize(1);
  }

  @Test
  void theHeartbeatRunsOncePerChunk() throws IOException {
    writeMixedBatch();
    AtomicInteger beats = new AtomicInteger();

    finalizer.finalizeBatch(
        new FinalizeRequest(BATCH, TENANT, 2, 10, BatchStatus.COMPLETED, List.of()),
        beats::incrementAndGet);

    assertThat(beats).hasValue(2);
  }

  @Test
  void finalizingTwiceGivesTheSameFileIds() throws IOException {
    writeMixedBatch();

    FinalizeResult first = finalizeBatch(2, 10, BatchStatus.EXPIRED);
    FinalizeResult second = finalizeBatch(2, 10, BatchStatus.EXPIRED);

    assertThat(second).isEqualTo(first);
    assertThat(store.list(TENANT + "/files/")).hasSize(2);
  }

  @Test
  void finalizingTwiceGivesTheSameContentWhenEveryLineWasAnswered() throws IOException {
    writeInput(0, "r-0", "r-1");
    writeSegment(
        StorageKeys.segment(TENANT, BATCH, 0, 0),
        new Segment.Summary(1, 1, ONE_OK),
        ok(0, "r-0", "req-0"),
        bad(1, "r-1"));

    FinalizeResult first = finalizeBatch(1, 2, BatchStatus.COMPLETED);
    String output = fileText(first.outputFileId());
    String errors = fileText(first.errorFileId());
    finalizeBatch(1, 2, BatchStatus.COMPLETED);

    assertThat(fileText(first.outputFileId())).isEqualTo(output);
    assertThat(fileText(first.errorFileId())).isEqualTo(errors);
  }

  @Test
  void finalizingTwiceGivesTheSameContentForUnansweredLines() throws IOException {
    writeMixedBatch();

    FinalizeResult first = finalizeBatch(2, 10, BatchStatus.CANCELLED);
    String output = fileText(first.outputFileId());
    String errors = fileText(first.errorFileId());
    FinalizeResult second = finalizeBatch(2, 10, BatchStatus.CANCELLED);

    assertThat(fileText(second.outputFileId())).isEqualTo(output);
    assertThat(fileText(second.errorFileId())).isEqualTo(errors);
  }

  /** Cuts a stored object short, in the middle of its last line, as a full disk or a crash can. */
  private void truncate(String key, int dropBytes) throws IOException {
    byte[] bytes;
    try (InputStream in = store.open(key)) {
      bytes = in.readAllBytes();
    }
    store.write(key, new ByteArrayInputStream(bytes, 0, bytes.length - dropBytes), bytes.length);
  }

  @Test
  void aDamagedSegmentFailsANormalFinalizeWithoutWritingAnything() throws IOException {
    writeMixedBatch();
    truncate(StorageKeys.segment(TENANT, BATCH, 1, 0), 20);

    assertThatThrownBy(() -> finalizeBatch(2, 10, BatchStatus.COMPLETED))
        .isInstanceOf(CorruptSegmentException.class);

    assertThat(metadata.completions).isEmpty();
    assertThat(store.list(TENANT + "/files/")).isEmpty();
  }

  @Test
  void aSalvageSkipsDamagedSegmentsAndReportsTheirLinesAsLost() throws IOException {
    writeMixedBatch();
    truncate(StorageKeys.segment(TENANT, BATCH, 0, 0), 20);
    FinalizeRequest request =
        new FinalizeRequest(BATCH, TENANT, 2, 10, BatchStatus.COMPLETED, List.of())
            .salvaged(
                BatchStatus.FAILED,
                List.of(new BatchProblem("finalize_failed", "Writing the files failed")));

    FinalizeResult result = finalizer.finalizeBatch(request, () -> {});

    assertThat(result.counts()).isEqualTo(new RequestCounts(10, 3, 7));
    List<JsonNode> output = fileLines(result.outputFileId());
    List<JsonNode> errors = fileLines(result.errorFileId());
    assertThat(customIds(output)).containsExactlyInAnyOrder("r-2", "r-5", "r-6");
    for (String lostId : List.of("r-0", "r-1")) {
      assertThat(lineFor(errors, lostId).at("/error/code").asText()).isEqualTo("result_lost");
    }
    for (String missing : List.of("r-3", "r-4", "r-7", "r-8", "r-9")) {
      assertThat(lineFor(errors, missing).at("/error/code").asText()).isEqualTo("batch_failed");
    }
    List<String> everyId = new ArrayList<>(customIds(output));
    everyId.addAll(customIds(errors));
    assertThat(everyId).doesNotHaveDuplicates().hasSize(10);
    assertThat(metadata.completions.get(0).terminal()).isEqualTo(BatchStatus.FAILED);
    assertThat(metadata.completions.get(0).counts()).isEqualTo(result.counts());
    assertThat(metadata.errors.get(BATCH))
        .extracting(BatchError::code)
        .containsExactly("finalize_failed", "result_lost");
    assertThat(metadata.errors.get(BATCH).get(1).message()).startsWith("2 requests");
  }

  @Test
  void finalizeOnceTerminalRewritesNothingAndAnswersWhatWasRecorded() throws IOException {
    writeMixedBatch();
    FinalizeResult first = finalizeBatch(2, 10, BatchStatus.CANCELLED);
    String output = fileText(first.outputFileId());
    String errors = fileText(first.errorFileId());
    // A late attempt sees more results than the recorded files hold.
    writeSegment(
        StorageKeys.segment(TENANT, BATCH, 0, 1),
        new Segment.Summary(2, 0, times(ONE_OK, 2)),
        ok(2, "r-2", "req-2"),
        ok(3, "r-3", "req-3"));

    FinalizeResult again = finalizeBatch(2, 10, BatchStatus.CANCELLED);

    assertThat(again).isEqualTo(first);
    assertThat(fileText(first.outputFileId())).isEqualTo(output);
    assertThat(fileText(first.errorFileId())).isEqualTo(errors);
    assertThat(metadata.completions).hasSize(1);
    assertThat(metadata.completions.get(0).outputFile().bytes())
        .isEqualTo(output.getBytes(StandardCharsets.UTF_8).length);
  }

  private static com.fasterxml.jackson.databind.JsonNode tree(String json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
