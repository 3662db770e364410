package dev.batchgateway.activities.plan;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a byte stream into lines without decoding it, remembering where each line starts. Holds
 * one line in memory at a time. A trailing {@code \r} is dropped, so CRLF files read like LF ones.
 */
final class LineReader {
  private final InputStream in;
  private final byte[] buffer = new byte[64 * 1024];
  private int bufferPos;
  private int bufferEnd;
  private long streamPos;
  private byte[] line = new byte[8 * 1024];
  private int lineLength;
  private long lineOffset;

  LineReader(InputStream in) {
    this.in = in;
  }

  /** Advances to the next line; false at the end of the stream. */
  boolean next() throws IOException {
    lineLength = 0;
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
    if (lineLength > 0 && line[lineLength - 1] == '\r') {
      lineLength--;
    }
  }

  private void append(int from, int count) {
    if (lineLength + count > line.length) {
      line = Arrays.copyOf(line, Math.max(line.length * 2, lineLength + count));
    }
    System.arraycopy(buffer, from, line, lineLength, count);
    lineLength += count;
  }

  byte[] bytes() {
    return line;
  }

  int length() {
    return lineLength;
  }

  /** Byte offset of the current line in the stream. */
  long offset() {
    return lineOffset;
  }

  boolean isBlank() {
    for (int i = 0; i < lineLength; i++) {
      byte b = line[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }
}
