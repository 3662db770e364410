package dev.batchgateway.activities.plan;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a byte stream into lines without decoding it, remembering where each line starts. Holds
 * one line in memory at a time, and of a line longer than the limit only its first {@code
 * maxLineBytes}: the rest is counted and skipped. A trailing {@code \r} is dropped, so CRLF files
 * read like LF ones.
 */
public final class LineReader {
  private final InputStream in;
  private final int maxLineBytes;
  private final byte[] buffer = new byte[64 * 1024];
  private int bufferPos;
  private int bufferEnd;
  private long streamPos;
  private byte[] line;
  private int lineLength;
  private long lineOffset;
  private long fullLength;

  public LineReader(InputStream in, int maxLineBytes) {
    this.in = in;
    this.maxLineBytes = maxLineBytes;
    this.line = new byte[Math.min(8 * 1024, maxLineBytes + 1)];
  }

  /** Advances to the next line; false at the end of the stream. */
  public boolean next() throws IOException {
    lineLength = 0;
    fullLength = 0;
    lineOffset = streamPos;
    boolean sawAny = false;
    while (true) {
      if (bufferPos == bufferEnd) {
        int n = in.read(buffer);
        if (n == -1) {
          trimCarriageReturn();
          return sawAny;
        }
        bufferPos = 0;
        bufferEnd = n;
      }
      sawAny = true;
      int start = bufferPos;
      while (bufferPos < bufferEnd && buffer[bufferPos] != '\n') {
        bufferPos++;
      }
      append(start, bufferPos - start);
      streamPos += bufferPos - start;
      if (bufferPos < bufferEnd) {
        bufferPos++;
        streamPos++;
        trimCarriageReturn();
        return true;
      }
    }
  }

  private void trimCarriageReturn() {
    if (lineLength > 0 && lineLength == fullLength && line[lineLength - 1] == '\r') {
      lineLength--;
      fullLength--;
    }
  }

  private void append(int from, int count) {
    fullLength += count;
    count = Math.min(count, maxLineBytes + 1 - lineLength);
    if (count <= 0) {
      return;
    }
    if (lineLength + count > line.length) {
      int capacity =
          (int) Math.min(maxLineBytes + 1L, Math.max(line.length * 2L, lineLength + count));
      line = Arrays.copyOf(line, capacity);
    }
    System.arraycopy(buffer, from, line, lineLength, count);
    lineLength += count;
  }

  public byte[] bytes() {
    return line;
  }

  public int length() {
    return lineLength;
  }

  /**
   * Whether the current line is longer than the limit; then {@link #bytes()} holds only its start
   * and {@link #fullLength()} says how long it is.
   */
  public boolean tooLong() {
    return fullLength > maxLineBytes;
  }

  /** Length of the current line in bytes, including any part past the limit. */
  public long fullLength() {
    return fullLength;
  }

  /** Byte offset of the current line in the stream. */
  public long offset() {
    return lineOffset;
  }

  public boolean isBlank() {
    for (int i = 0; i < lineLength; i++) {
      byte b = line[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }
}
