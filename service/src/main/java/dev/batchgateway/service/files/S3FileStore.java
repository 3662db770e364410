package dev.batchgateway.service.files;

import dev.batchgateway.activities.port.FileStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Keeps objects in one S3 bucket (AWS, MinIO, Ceph, S3Proxy), each under {@code prefix + key}, so a
 * tenant's objects share the tenant's key prefix. Writes stream through {@link S3Upload}: one part
 * in memory at a time, nothing visible until commit. Reads are plain and ranged GETs; the client
 * retries failed requests with backoff, and a read that breaks mid-object resumes where it was.
 */
public final class S3FileStore implements FileStore {
  /** Most keys one DeleteObjects request may name. */
  private static final int DELETE_BATCH = 1000;

  /** First pause before a broken read is resumed; doubles with each further try. */
  private static final long RESUME_BACKOFF_MILLIS = 200;

  private final S3Client client;
  private final String bucket;
  private final String prefix;
  private final S3Upload.Options upload;
  private final int readAttempts;

  /**
   * @param prefix put before every key (empty, or ending in {@code /}), so several gateways can
   *     share a bucket
   * @param readAttempts tries of a read whose connection breaks mid-object, counting the first;
   *     each resumes from the byte reached
   */
  public S3FileStore(
      S3Client client, String bucket, String prefix, S3Upload.Options upload, int readAttempts) {
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      throw new IllegalArgumentException("An S3 key prefix must end with '/': " + prefix);
    }
    this.client = client;
    this.bucket = bucket;
    this.prefix = prefix;
    this.upload = upload;
    this.readAttempts = readAttempts;
  }

  @Override
  public Pending create(String key) {
    return new S3Upload(client, bucket, objectKey(key), upload);
  }

  @Override
  public InputStream open(String key) throws IOException {
    return read(key, 0, -1);
  }

  @Override
  public InputStream openRange(String key, long offset, long length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("A range needs a non-negative offset and length");
    }
    if (length == 0) {
      if (!exists(key)) {
        throw new NoSuchFileException(key);
      }
      return InputStream.nullInputStream();
    }
    return read(key, offset, offset + length - 1);
  }

  /**
   * GETs bytes {@code from} to {@code last} (inclusive; -1 for the object's end). A connection that
   * breaks on the way is resumed from the byte reached, on the same version of the object.
   */
  private InputStream read(String key, long from, long last) throws IOException {
    ResponseInputStream<GetObjectResponse> first = get(key, from, last, null);
    if (first == null) {
      return InputStream.nullInputStream();
    }
    String eTag = first.response().eTag();
    return new ResumingInputStream(
        first,
        position -> {
          InputStream rest = get(key, from + position, last, eTag);
          return rest == null ? InputStream.nullInputStream() : rest;
        },
        readAttempts,
        RESUME_BACKOFF_MILLIS);
  }

  /** One GET; null when the range starts at or past the object's end. */
  private ResponseInputStream<GetObjectResponse> get(
      String key, long from, long last, String ifMatch) throws IOException {
    String range = from == 0 && last < 0 ? null : "bytes=" + from + "-" + (last < 0 ? "" : last);
    try {
      return client.getObject(
          b -> b.bucket(bucket).key(objectKey(key)).range(range).ifMatch(ifMatch));
    } catch (S3Exception e) {
      if (e.statusCode() == 416) {
        return null;
      }
      throw failure("read", key, e);
    } catch (SdkException e) {
      throw failure("read", key, e);
    }
  }

  @Override
  public boolean exists(String key) throws IOException {
    try {
      client.headObject(b -> b.bucket(bucket).key(objectKey(key)));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw failure("look up", key, e);
    } catch (SdkException e) {
      throw failure("look up", key, e);
    }
  }

  @Override
  public List<String> list(String keyPrefix) throws IOException {
    List<String> keys = new ArrayList<>();
    try {
      for (S3Object object :
          client
              .listObjectsV2Paginator(b -> b.bucket(bucket).prefix(objectKey(keyPrefix)))
              .contents()) {
        keys.add(object.key().substring(prefix.length()));
      }
    } catch (SdkException e) {
      throw failure("list", keyPrefix, e);
    }
    keys.sort(null);
    return keys;
  }

  @Override
  public void delete(String key) throws IOException {
    try {
      client.deleteObject(b -> b.bucket(bucket).key(objectKey(key)));
    } catch (SdkException e) {
      throw failure("delete", key, e);
    }
  }

  @Override
  public void deleteAll(String keyPrefix) throws IOException {
    List<String> keys = list(keyPrefix);
    for (int from = 0; from < keys.size(); from += DELETE_BATCH) {
      List<ObjectIdentifier> batch =
          keys.subList(from, Math.min(keys.size(), from + DELETE_BATCH)).stream()
              .map(key -> ObjectIdentifier.builder().key(objectKey(key)).build())
              .toList();
      DeleteObjectsResponse response;
      try {
        response =
            client.deleteObjects(
                b -> b.bucket(bucket).delete(Delete.builder().objects(batch).quiet(true).build()));
      } catch (SdkException e) {
        throw failure("delete", keyPrefix, e);
      }
      if (response.hasErrors() && !response.errors().isEmpty()) {
        var error = response.errors().get(0);
        throw new IOException(
            "S3 refused to delete "
                + response.errors().size()
                + " objects under "
                + keyPrefix
                + ", "
                + error.key()
                + " with "
                + error.code()
                + ": "
                + error.message());
      }
    }
  }

  /** Whether the bucket answers; for the health check. */
  void checkBucket() {
    client.headBucket(b -> b.bucket(bucket));
  }

  String bucket() {
    return bucket;
  }

  private String objectKey(String key) {
    if (key.startsWith("/")) {
      throw new IllegalArgumentException("Storage keys are relative: " + key);
    }
    return prefix + key;
  }

  private static IOException failure(String what, String key, SdkException e) {
    if (e instanceof NoSuchKeyException) {
      NoSuchFileException missing = new NoSuchFileException(key);
      missing.initCause(e);
      return missing;
    }
    return new IOException("Could not " + what + " " + key + " in S3: " + e.getMessage(), e);
  }
}
