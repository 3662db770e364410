package dev.batchgateway.activities.chunk;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A local scratch file holding the result lines of one chunk attempt until their segment is saved.
 * A segment waits for its slowest line, and a slow line keeps its segment's other results waiting;
 * on disk they cost no heap, so a chunk's memory does not grow with its answers' sizes.
 */
final class ResultSpool implements AutoCloseable {
  private static final int SLICE = 64 * 1024;
  private final Path path;
  private final FileChannel channel;
  private long size;

  ResultSpool() throws IOException {
    path = Files.createTempFile("bgw-chunk-", ".spool");
    channel =
        FileChannel.open(
            path,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE,
            StandardOpenOption.DELETE_ON_CLOSE);
  }

  /** Appends a line; answers where it starts. Safe to call from several threads. */
  long append(byte[] line) throws IOException {
    long position;
    synchronized (this) {
      position = size;
      size += line.length;
    }
    // In slices: the JDK copies a heap buffer into a direct one of the same size for each write,
    // and keeps that per thread; a whole answer at once would leave one that size per thread.
    long at = position;
    for (int from = 0; from < line.length; from += SLICE) {
      ByteBuffer slice = ByteBuffer.wrap(line, from, Math.min(SLICE, line.length - from));
      while (slice.hasRemaining()) {
        at += channel.write(slice, at);
      }
    }
    return position;
  }

  /** Copies {@code length} bytes from {@code position} to {@code out}. */
  void copyTo(long position, int length, OutputStream out) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(Math.min(length, 64 * 1024));
    long at = position;
    long end = position + length;
    while (at < end) {
      buffer.clear().limit((int) Math.min(buffer.capacity(), end - at));
      int n = channel.read(buffer, at);
      if (n < 0) {
        throw new IOException("The result spool " + path + " is shorter than was written");
      }
      out.write(buffer.array(), 0, n);
      at += n;
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
    Files.deleteIfExists(path);
  }
}
