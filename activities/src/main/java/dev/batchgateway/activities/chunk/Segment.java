package dev.batchgateway.activities.chunk;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.model.Usage;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The checkpoint file of a range of a chunk's lines. A header line carries the segment's counts and
 * usage, and the CRC-32C of every byte after it; then one line per finished request: {@code O}
 * (output file) or {@code E} (error file), the line's index in the chunk, and the formatted result
 * line, separated by tabs. Segments written before the checksum existed have none, and {@link
 * #readChecked} checks each of their entries as JSON instead.
 */
public final class Segment {

  /** One finished request. */
  public record Entry(int index, boolean success, byte[] line) {}

  /** The header: what this segment adds to the batch's counts. */
  public record Summary(long completed, long failed, Usage usage) {}

  /** The header field with the checksum of the entries. */
  static final String CRC_FIELD = "crc32c";

  /** Receives the entries of a segment as it is read. */
  public interface Reader {
    void entry(int index, boolean success, String line) throws IOException;
  }

  private Segment() {}

  public static void write(
      ObjectMapper json, OutputStream out, Summary summary, List<Entry> entries)
      throws IOException {
    CRC32C crc = new CRC32C();
    try (OutputStream sum = new CheckedOutputStream(OutputStream.nullOutputStream(), crc)) {
      writeEntries(sum, entries);
    }
    writeHeader(out, summary, crc.getValue());
    writeEntries(out, entries);
  }

  private static void writeEntries(OutputStream out, List<Entry> entries) throws IOException {
    for (Entry entry : entries) {
      writeEntryStart(out, entry.index(), entry.success());
      out.write(entry.line());
      out.write('\n');
    }
  }

  /**
   * Writes the header line; entries follow.
   *
   * @param crc32c the CRC-32C of every byte of the entries that follow (see {@link
   *     #writeEntryStart}), which the writer computes over them beforehand
   */
  public static void writeHeader(OutputStream out, Summary summary, long crc32c)
      throws IOException {
    // Numbers only, so written directly: a tree and a serializer per segment showed in profiles.
    Usage usage = summary.usage();
    String header =
        "{\""
            + CRC_FIELD
            + "\":"
            + crc32c
            + ",\"completed\":"
            + summary.completed()
            + ",\"failed\":"
            + summary.failed()
            + ",\"usage\":{\"input_tokens\":"
            + usage.inputTokens()
            + ",\"cached_tokens\":"
            + usage.cachedTokens()
            + ",\"output_tokens\":"
            + usage.outputTokens()
            + ",\"reasoning_tokens\":"
            + usage.reasoningTokens()
            + ",\"total_tokens\":"
            + usage.totalTokens()
            + "}}\n";
    out.write(header.getBytes(StandardCharsets.US_ASCII));
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
   * Reads a segment as {@link #read} does, but makes sure it is whole: its entries' bytes match the
   * header's checksum (or, in a segment written without one, each entry is a tag, an index and one
   * JSON value), and the entries are as many as the header counts. A segment cut short or damaged
   * fails with {@link CorruptSegmentException}, possibly after some entries went to {@code reader}.
   */
  public static Summary readChecked(ObjectMapper json, InputStream in, Reader reader)
      throws IOException {
    long[] entries = {0};
    Summary summary;
    Parsed parsed;
    try {
      parsed =
          parse(
              json,
              in,
              true,
              (index, success, line, checksummed) -> {
                if (!checksummed) {
                  checkJson(json, line);
                }
                entries[0]++;
                if (reader != null) {
                  reader.entry(index, success, line);
                }
              });
    } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new CorruptSegmentException("Unreadable checkpoint segment: " + e.getMessage(), e);
    }
    summary = parsed.summary();
    if (parsed.expectedCrc() >= 0 && parsed.expectedCrc() != parsed.actualCrc()) {
      throw new CorruptSegmentException(
          "Checkpoint segment does not match its checksum (cut short or damaged)", null);
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
    return parse(
            json,
            in,
            false,
            reader == null ? null : (index, success, line, c) -> reader.entry(index, success, line))
        .summary();
  }

  private interface EntryReader {
    void entry(int index, boolean success, String line, boolean checksummed) throws IOException;
  }

  /** A header, and the checksums the entries should and did have (-1: none in the header). */
  private record Parsed(Summary summary, long expectedCrc, long actualCrc) {}

  /**
   * Reads the header a byte at a time (it is short), then the entries through a checksum when the
   * header has one and {@code verify} asks for it.
   */
  private static Parsed parse(
      ObjectMapper json, InputStream raw, boolean verify, EntryReader reader) throws IOException {
    InputStream in =
        raw instanceof BufferedInputStream ? raw : new BufferedInputStream(raw, 64 * 1024);
    ByteArrayOutputStream first = new ByteArrayOutputStream(256);
    int b;
    while ((b = in.read()) != -1 && b != '\n') {
      first.write(b);
    }
    if (first.size() == 0 && b == -1) {
      throw new CorruptSegmentException("Empty checkpoint segment", null);
    }
    var header = json.readTree(first.toByteArray());
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
    long expected = header.has(CRC_FIELD) ? header.get(CRC_FIELD).asLong() : -1;
    boolean checksummed = verify && expected >= 0;
    CRC32C crc = new CRC32C();
    if (reader != null) {
      InputStream entries = checksummed ? new CheckedInputStream(in, crc) : in;
      BufferedReader lines =
          new BufferedReader(new InputStreamReader(entries, StandardCharsets.UTF_8), 64 * 1024);
      String line;
      while ((line = lines.readLine()) != null) {
        int tab = line.indexOf('\t', 2);
        reader.entry(
            Integer.parseInt(line.substring(2, tab)),
            line.charAt(0) == 'O',
            line.substring(tab + 1),
            checksummed);
      }
    }
    return new Parsed(summary, checksummed ? expected : -1, crc.getValue());
  }
}
