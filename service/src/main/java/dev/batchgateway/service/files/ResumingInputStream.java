package dev.batchgateway.service.files;

import java.io.IOException;
import java.io.InputStream;

/**
 * An object read from S3 that survives a broken connection: when a read fails, the rest is asked
 * for again from the byte reached, after a short growing pause, up to a number of tries. A 200 MB
 * input read by the planner would otherwise start over, as a failed activity, on any hiccup.
 */
final class ResumingInputStream extends InputStream {

  /** Opens the object from {@code position} to the end of the wanted range. */
  @FunctionalInterface
  interface Opener {
    InputStream open(long position) throws IOException;
  }

  private final Opener opener;
  private final int maxAttempts;
  private final long baseBackoffMillis;
  private InputStream current;
  private long position;
  private int attempts;

  ResumingInputStream(InputStream first, Opener opener, int maxAttempts, long baseBackoffMillis) {
    this.current = first;
    this.opener = opener;
    this.maxAttempts = maxAttempts;
    this.baseBackoffMillis = baseBackoffMillis;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n == -1 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    if (length == 0) {
      return 0;
    }
    while (true) {
      try {
        int n = current.read(buffer, offset, length);
        if (n > 0) {
          position += n;
          attempts = 0;
        }
        return n;
      } catch (IOException e) {
        resumeAfter(e);
      }
    }
  }

  private void resumeAfter(IOException failure) throws IOException {
    attempts++;
    if (attempts >= maxAttempts) {
      throw failure;
    }
    closeQuietly();
    try {
      Thread.sleep(baseBackoffMillis << Math.min(attempts - 1, 10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure.addSuppressed(e);
      throw failure;
    }
    try {
      current = opener.open(position);
    } catch (IOException e) {
      e.addSuppressed(failure);
      throw e;
    }
  }

  private void closeQuietly() {
    try {
      current.close();
    } catch (IOException ignored) {
      // the connection is already broken
    }
  }

  @Override
  public void close() throws IOException {
    current.close();
  }
}
