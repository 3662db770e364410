package dev.batchgateway.activities.chunk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.model.Usage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SegmentTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Read(int index, boolean success, String line) {}

  private static byte[] write(Segment.Summary summary, List<Segment.Entry> entries)
      throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Segment.write(JSON, out, summary, entries);
    return out.toByteArray();
  }

  @Test
  void entriesAndSummarySurviveARoundTrip() throws IOException {
    byte[] ok = OutputLines.answered("r-1", 200, "req-1", tree("{\"usage\":{\"total_tokens\":3}}"));
    byte[] bad =
        OutputLines.unanswered("r-2, \"quoted\"\tid", OutputLines.NoAnswer.BATCH_FAILED, null);
    Segment.Summary summary = new Segment.Summary(1, 1, new Usage(11, 2, 7, 3, 18));

    byte[] bytes =
        write(summary, List.of(new Segment.Entry(40, true, ok), new Segment.Entry(41, false, bad)));
    List<Read> read = new ArrayList<>();
    Segment.Summary back =
        Segment.read(
            JSON,
            new ByteArrayInputStream(bytes),
            (index, success, line) -> read.add(new Read(index, success, line)));

    assertThat(back).isEqualTo(summary);
    assertThat(read)
        .containsExactly(
            new Read(40, true, new String(ok, StandardCharsets.UTF_8)),
            new Read(41, false, new String(bad, StandardCharsets.UTF_8)));
  }

  @Test
  void theHeaderIsTheFirstLineAndCarriesCountsAndUsage() throws IOException {
    Segment.Summary summary = new Segment.Summary(3, 2, new Usage(100, 10, 50, 5, 150));

    String text = new String(write(summary, List.of()), StandardCharsets.UTF_8);

    assertThat(text).endsWith("\n").hasLineCount(1);
    JsonNode header = JSON.readTree(text);
    assertThat(header.get("completed").asLong()).isEqualTo(3);
    assertThat(header.get("failed").asLong()).isEqualTo(2);
    assertThat(header.at("/usage/input_tokens").asLong()).isEqualTo(100);
    assertThat(header.at("/usage/cached_tokens").asLong()).isEqualTo(10);
    assertThat(header.at("/usage/output_tokens").asLong()).isEqualTo(50);
    assertThat(header.at("/usage/reasoning_tokens").asLong()).isEqualTo(5);
    assertThat(header.at("/usage/total_tokens").asLong()).isEqualTo(150);
  }

  @Test
  void aNullReaderReadsOnlyTheHeader() throws IOException {
    Segment.Summary summary = new Segment.Summary(1, 0, Usage.ZERO);
    byte[] bytes =
        write(summary, List.of(new Segment.Entry(0, true, "{\"custom_id\":\"a\"}".getBytes())));

    assertThat(Segment.read(JSON, new ByteArrayInputStream(bytes), null)).isEqualTo(summary);
  }

  private static Segment.Summary readChecked(byte[] bytes) throws IOException {
    return Segment.readChecked(JSON, new ByteArrayInputStream(bytes), (i, s, l) -> {});
  }

  private static byte[] twoEntries() throws IOException {
    return write(
        new Segment.Summary(2, 0, Usage.ZERO),
        List.of(
            new Segment.Entry(0, true, "{\"custom_id\":\"a\",\"n\":1234}".getBytes()),
            new Segment.Entry(1, true, "{\"custom_id\":\"b\",\"n\":5678}".getBytes())));
  }

  @Test
  void theHeaderCarriesTheChecksumOfTheEntriesAndAWholeSegmentPassesIt() throws IOException {
    byte[] bytes = twoEntries();

    String text = new String(bytes, StandardCharsets.UTF_8);
    String entries = text.substring(text.indexOf('\n') + 1);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(entries.getBytes(StandardCharsets.UTF_8));
    assertThat(JSON.readTree(text.substring(0, text.indexOf('\n'))).get("crc32c").asLong())
        .isEqualTo(crc.getValue());
    assertThat(readChecked(bytes).completed()).isEqualTo(2);
  }

  @Test
  void aChangedByteThatLeavesValidJsonFailsTheChecksum() throws IOException {
    byte[] bytes = twoEntries();
    String text = new String(bytes, StandardCharsets.UTF_8);
    byte[] damaged = text.replace("5678", "5679").getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> readChecked(damaged))
        .isInstanceOf(CorruptSegmentException.class)
        .hasMessageContaining("checksum");
  }

  @Test
  void aSegmentCutShortFailsWhereverItIsCut() throws IOException {
    byte[] bytes = twoEntries();
    int header = new String(bytes, StandardCharsets.UTF_8).indexOf('\n') + 1;
    for (int cut = header; cut < bytes.length; cut++) {
      byte[] shorter = java.util.Arrays.copyOf(bytes, cut);
      assertThatThrownBy(() -> readChecked(shorter))
          .as("cut at %d of %d", cut, bytes.length)
          .isInstanceOf(CorruptSegmentException.class);
    }
  }

  @Test
  void aSegmentWrittenBeforeTheChecksumIsCheckedEntryByEntry() throws IOException {
    String old =
        "{\"completed\":1,\"failed\":0,\"usage\":{\"total_tokens\":3}}\n"
            + "O\t0\t{\"custom_id\":\"a\"}\n";
    List<String> lines = new ArrayList<>();
    Segment.Summary summary =
        Segment.readChecked(
            JSON,
            new ByteArrayInputStream(old.getBytes(StandardCharsets.UTF_8)),
            (i, s, l) -> lines.add(l));
    assertThat(summary.completed()).isEqualTo(1);
    assertThat(lines).containsExactly("{\"custom_id\":\"a\"}");

    String torn = old.substring(0, old.length() - 4) + "\n";
    assertThatThrownBy(() -> readChecked(torn.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(CorruptSegmentException.class);
  }

  @Test
  void anEmptySegmentIsAnError() {
    assertThatThrownBy(() -> Segment.read(JSON, new ByteArrayInputStream(new byte[0]), null))
        .isInstanceOf(IOException.class);
  }

  private static com.fasterxml.jackson.databind.JsonNode tree(String json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
