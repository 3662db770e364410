package dev.batchgateway.service.files;

import dev.batchgateway.activities.port.FileStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * One object being written to S3. Bytes gather in a buffer of at most one part; a full buffer
 * becomes a part of a multipart upload, started with the first full part, so memory stays at one
 * part however large the object grows. Commit sends a small object in one PUT, or the last part and
 * the completion; closing without commit aborts the upload, so S3 keeps nothing.
 */
final class S3Upload implements FileStore.Pending {
  /** S3 refuses parts below 5 MiB, except the last. */
  static final int MIN_PART_BYTES = 5 * 1024 * 1024;

  /**
   * How uploads are made.
   *
   * @param partBytes bytes per part, at least {@link #MIN_PART_BYTES}; the memory one writer holds
   * @param encryption {@code AES256}, {@code aws:kms} or {@code null} for the bucket's default
   * @param kmsKeyId the KMS key for {@code aws:kms}, or {@code null} for the account's default
   */
  record Options(int partBytes, String encryption, String kmsKeyId) {
    Options {
      if (partBytes < MIN_PART_BYTES) {
        throw new IllegalArgumentException("An S3 part is at least 5 MiB, not " + partBytes);
      }
    }
  }

  private final S3Client client;
  private final String bucket;
  private final String key;
  private final Options options;
  private final List<CompletedPart> parts = new ArrayList<>();
  private final Stream stream = new Stream();
  private byte[] buffer = new byte[8 * 1024];
  private int buffered;
  private String uploadId;
  private boolean done;

  S3Upload(S3Client client, String bucket, String key, Options options) {
    this.client = client;
    this.bucket = bucket;
    this.key = key;
    this.options = options;
  }

  @Override
  public OutputStream stream() {
    return stream;
  }

  @Override
  public void commit() throws IOException {
    if (done) {
      throw new IllegalStateException("The upload of " + key + " has already ended");
    }
    try {
      if (uploadId == null) {
        client.putObject(
            b -> {
              b.bucket(bucket).key(key).contentLength((long) buffered);
              encrypt(b);
            },
            body());
      } else {
        if (buffered > 0) {
          sendPart();
        }
        client.completeMultipartUpload(
            b -> b.bucket(bucket).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(parts)));
      }
      done = true;
      buffer = null;
    } catch (SdkException e) {
      throw new IOException("Could not store " + key + " in S3: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() throws IOException {
    if (done) {
      return;
    }
    done = true;
    buffer = null;
    if (uploadId != null) {
      try {
        client.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
      } catch (SdkException e) {
        throw new IOException("Could not abort the upload of " + key + ": " + e.getMessage(), e);
      }
    }
  }

  private void encrypt(PutObjectRequest.Builder b) {
    if (options.encryption() != null) {
      b.serverSideEncryption(ServerSideEncryption.fromValue(options.encryption()));
      b.ssekmsKeyId(options.kmsKeyId());
    }
  }

  /** The buffered bytes, read again from the start on every try of the request. */
  private RequestBody body() {
    byte[] bytes = buffer;
    int length = buffered;
    return RequestBody.fromContentProvider(
        () -> new ByteArrayInputStream(bytes, 0, length), length, "application/octet-stream");
  }

  private void sendPart() {
    if (uploadId == null) {
      uploadId =
          client
              .createMultipartUpload(
                  b -> {
                    b.bucket(bucket).key(key);
                    if (options.encryption() != null) {
                      b.serverSideEncryption(ServerSideEncryption.fromValue(options.encryption()));
                      b.ssekmsKeyId(options.kmsKeyId());
                    }
                  })
              .uploadId();
    }
    int number = parts.size() + 1;
    String eTag =
        client
            .uploadPart(
                b ->
                    b.bucket(bucket)
                        .key(key)
                        .uploadId(uploadId)
                        .partNumber(number)
                        .contentLength((long) buffered),
                body())
            .eTag();
    parts.add(CompletedPart.builder().partNumber(number).eTag(eTag).build());
    buffered = 0;
  }

  private final class Stream extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      makeRoom(1);
      buffer[buffered++] = (byte) b;
      sendIfFull();
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      while (length > 0) {
        int n = makeRoom(length);
        System.arraycopy(bytes, offset, buffer, buffered, n);
        buffered += n;
        offset += n;
        length -= n;
        sendIfFull();
      }
    }

    /**
     * Grows the buffer (doubling, up to one part) to take up to {@code wanted} more bytes; answers
     * how many it takes.
     */
    private int makeRoom(int wanted) throws IOException {
      if (done) {
        throw new IOException("The upload of " + key + " has ended");
      }
      int n = Math.min(wanted, options.partBytes() - buffered);
      if (buffer.length - buffered < n) {
        long grown = Math.max(buffer.length * 2L, (long) buffered + n);
        buffer = Arrays.copyOf(buffer, (int) Math.min(options.partBytes(), grown));
      }
      return n;
    }

    private void sendIfFull() throws IOException {
      if (buffered == options.partBytes()) {
        try {
          sendPart();
        } catch (SdkException e) {
          throw new IOException(
              "Could not store a part of " + key + " in S3: " + e.getMessage(), e);
        }
      }
    }
  }
}
