package dev.batchgateway.activities.port;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * Where file bytes live: uploads, chunk files, checkpoint segments, results. Keys are {@code
 * /}-separated and start with the tenant. Bytes are only ever streamed, whole or by range, so an
 * object store serves as well as a local folder.
 */
public interface FileStore {

  /** Starts writing {@code key}; nothing is visible under the key until {@link Pending#commit}. */
  Pending create(String key) throws IOException;

  /** Opens a stored object; throws {@link java.nio.file.NoSuchFileException} when absent. */
  InputStream open(String key) throws IOException;

  /**
   * Opens {@code length} bytes of a stored object from {@code offset}, or fewer where the object
   * ends sooner; throws {@link java.nio.file.NoSuchFileException} when absent.
   */
  InputStream openRange(String key, long offset, long length) throws IOException;

  boolean exists(String key) throws IOException;

  /** Every key that starts with {@code prefix}, sorted. */
  List<String> list(String prefix) throws IOException;

  /** Deletes one object; deleting a missing object is not an error. */
  void delete(String key) throws IOException;

  /** Deletes every object under {@code prefix}. */
  void deleteAll(String prefix) throws IOException;

  /**
   * Copies {@code in} to {@code key}, failing with {@link SizeLimitExceededException} as soon as
   * more than {@code maxBytes} arrive, in which case nothing is stored.
   */
  default long write(String key, InputStream in, long maxBytes) throws IOException {
    try (Pending pending = create(key)) {
      byte[] buffer = new byte[64 * 1024];
      long total = 0;
      OutputStream out = pending.stream();
      int n;
      while ((n = in.read(buffer)) != -1) {
        total += n;
        if (total > maxBytes) {
          throw new SizeLimitExceededException(maxBytes);
        }
        out.write(buffer, 0, n);
      }
      pending.commit();
      return total;
    }
  }

  /** An object being written. Closing it without commit discards what was written. */
  interface Pending extends AutoCloseable {
    OutputStream stream();

    void commit() throws IOException;

    @Override
    void close() throws IOException;
  }
}
