package dev.batchgateway.service.files;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Passes an upload through while counting its requests as validation will: lines (ended by {@code
 * \n} or the end of the stream) holding anything but spaces, tabs and {@code \r}. The count is
 * final once the stream has been read to its end.
 */
public final class RequestLineCounter extends FilterInputStream {
  private long lines;
  private boolean lineHasContent;

  public RequestLineCounter(InputStream in) {
    super(in);
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b == -1) {
      endOfStream();
    } else {
      see((byte) b);
    }
    return b;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    int n = super.read(buffer, offset, length);
    if (n == -1) {
      endOfStream();
      return n;
    }
    for (int i = offset; i < offset + n; i++) {
      see(buffer[i]);
    }
    return n;
  }

  /** Skipped bytes are read, so that the count stays whole. */
  @Override
  public long skip(long n) throws IOException {
    byte[] buffer = new byte[8192];
    long skipped = 0;
    while (skipped < n) {
      int read = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
      if (read == -1) {
        break;
      }
      skipped += read;
    }
    return skipped;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  private void see(byte b) {
    if (b == '\n') {
      if (lineHasContent) {
        lines++;
        lineHasContent = false;
      }
    } else if (b != ' ' && b != '\t' && b != '\r') {
      lineHasContent = true;
    }
  }

  private void endOfStream() {
    if (lineHasContent) {
      lines++;
      lineHasContent = false;
    }
  }

  /** Requests seen so far; all of them once the stream was read to its end. */
  public long requests() {
    return lines;
  }
}
