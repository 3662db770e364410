package dev.batchgateway.activities.chunk;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.batchgateway.activities.model.Usage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The checkpoint file of a range of a chunk's lines. A header line carries the segment's counts and
 * usage; then one line per finished request: {@code O} (output file) or {@code E} (error file), the
 * line's index in the chunk, and the formatted result line, separated by tabs.
 */
public final class Segment {

  /** One finished request. */
  public record Entry(int index, boolean success, byte[] line) {}

  /** The header: what this segment adds to the batch's counts. */
  public record Summary(long completed, long failed, Usage usage) {}

  /** Receives the entries of a segment as it is read. */
  public interface Reader {
    void entry(int index, boolean success, String line) throws IOException;
  }

  private Segment() {}

  public static void write(
      ObjectMapper json, OutputStream out, Summary summary, List<Entry> entries)
      throws IOException {
    writeHeader(json, out, summary);
    for (Entry entry : entries) {
      writeEntryStart(out, entry.index(), entry.success());
      out.write(entry.line());
      out.write('\n');
    }
  }

  /** Writes the header line; entries follow. */
  public static void writeHeader(ObjectMapper json, OutputStream out, Summary summary)
      throws IOException {
    ObjectNode header = json.createObjectNode();
    header.put("completed", summary.completed());
    header.put("failed", summary.failed());
    ObjectNode usage = header.putObject("usage");
    usage.put("input_tokens", summary.usage().inputTokens());
    usage.put("cached_tokens", summary.usage().cachedTokens());
    usage.put("output_tokens", summary.usage().outputTokens());
    usage.put("reasoning_tokens", summary.usage().reasoningTokens());
    usage.put("total_tokens", summary.usage().totalTokens());
    out.write(json.writeValueAsBytes(header));
    out.write('\n');
  }

  /** Writes what precedes an entry's result line, which the caller writes, then a line break. */
  public static void writeEntryStart(OutputStream out, int index, boolean success)
      throws IOException {
    out.write(success ? 'O' : 'E');
    out.write('\t');
    out.write(Integer.toString(index).getBytes(StandardCharsets.US_ASCII));
    out.write('\t');
  }

  /**
   * Reads a segment as {@link #read} does, but first makes sure each entry is whole: a tag, an
   * index, one JSON value; and that the entries are as many as the header counts. A segment cut
   * short or damaged fails with {@link CorruptSegmentException}, possibly after some entries went
   * to {@code reader}.
   */
  public static Summary readChecked(ObjectMapper json, InputStream in, Reader reader)
      throws IOException {
    long[] entries = {0};
    Summary summary;
    try {
      summary =
          read(
              json,
              in,
              (index, success, line) -> {
                checkJson(json, line);
                entries[0]++;
                if (reader != null) {
                  reader.entry(index, success, line);
                }
              });
    } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new CorruptSegmentException("Unreadable checkpoint segment: " + e.getMessage(), e);
    }
    if (entries[0] != summary.completed() + summary.failed()) {
      throw new CorruptSegmentException(
          "Checkpoint segment holds "
              + entries[0]
              + " entries, its header counts "
              + (summary.completed() + summary.failed()),
          null);
    }
    return summary;
  }

  private static void checkJson(ObjectMapper json, String line) throws IOException {
    try (JsonParser parser = json.getFactory().createParser(line)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new CorruptSegmentException("Checkpoint entry is not a JSON object", null);
      }
      parser.skipChildren();
      if (parser.nextToken() != null) {
        throw new CorruptSegmentException("Checkpoint entry has trailing data", null);
      }
    }
  }

  /** Reads a segment, handing each entry to {@code reader}, and returns its header. */
  public static Summary read(ObjectMapper json, InputStream in, Reader reader) throws IOException {
    BufferedReader lines =
        new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 64 * 1024);
    String first = lines.readLine();
    if (first == null) {
      throw new CorruptSegmentException("Empty checkpoint segment", null);
    }
    var header = json.readTree(first);
    var usage = header.path("usage");
    Summary summary =
        new Summary(
            header.path("completed").asLong(),
            header.path("failed").asLong(),
            new Usage(
                usage.path("input_tokens").asLong(),
                usage.path("cached_tokens").asLong(),
                usage.path("output_tokens").asLong(),
                usage.path("reasoning_tokens").asLong(),
                usage.path("total_tokens").asLong()));
    if (reader != null) {
      String line;
      while ((line = lines.readLine()) != null) {
        int tab = line.indexOf('\t', 2);
        reader.entry(
            Integer.parseInt(line.substring(2, tab)),
            line.charAt(0) == 'O',
            line.substring(tab + 1));
      }
    }
    return summary;
  }
}
