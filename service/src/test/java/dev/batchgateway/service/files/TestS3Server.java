package dev.batchgateway.service.files;

import java.net.URI;
import java.util.List;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A real S3 server for tests: S3Proxy in this process on a free port, objects in memory, requests
 * signed and checked with one fixed key pair.
 */
public final class TestS3Server implements AutoCloseable {
  public static final String ACCESS_KEY = "gateway-test";
  public static final String SECRET_KEY = "gateway-test-secret";

  private final BlobStore objects = new TransientNio2BlobStore();
  private S3Proxy server;
  private int port;

  private TestS3Server() {}

  public static TestS3Server start() {
    TestS3Server s3 = new TestS3Server();
    s3.server = s3.listen(0);
    return s3;
  }

  /**
   * Stops the server, cutting every open connection, and starts a new one on the same port with the
   * same objects.
   */
  public void restart() throws Exception {
    stop();
    start(port);
  }

  /** Stops answering; {@link #start(int)} with the same port brings the same objects back. */
  public int stop() throws Exception {
    port = server.getPort();
    server.stop();
    return port;
  }

  public void start(int port) {
    server = listen(port);
  }

  private S3Proxy listen(int port) {
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(objects)
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .endpoint(URI.create("http://127.0.0.1:" + port))
            .stopTimeout(0)
            .build();
    try {
      proxy.start();
      while (!"STARTED".equals(proxy.getState())) {
        Thread.sleep(10);
      }
    } catch (Exception e) {
      throw new IllegalStateException("S3Proxy did not start", e);
    }
    return proxy;
  }

  public String endpoint() {
    return "http://127.0.0.1:" + server.getPort();
  }

  /** A client of this server, as the gateway's S3 store would build one. */
  public S3Client client() {
    return S3Client.builder()
        .httpClient(UrlConnectionHttpClient.create())
        .endpointOverride(URI.create(endpoint()))
        .forcePathStyle(true)
        .region(Region.US_EAST_1)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .build();
  }

  public void createBucket(String bucket) {
    try (S3Client client = client()) {
      client.createBucket(b -> b.bucket(bucket));
    }
  }

  /** Every key in the bucket, sorted. */
  public List<String> keys(String bucket) {
    try (S3Client client = client()) {
      return client.listObjectsV2Paginator(b -> b.bucket(bucket)).contents().stream()
          .map(S3Object::key)
          .sorted()
          .toList();
    }
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }
}
