package dev.batchgateway.service.files;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A real S3 server for tests: S3Proxy in this process on a free port, objects in memory, requests
 * signed and checked with one fixed key pair. Run as a program ({@code TestS3Server DIR
 * ENDPOINT_FILE}) it keeps its objects in a folder instead, so a test can give it a JVM of its own.
 */
public final class TestS3Server implements AutoCloseable {
  public static final String ACCESS_KEY = "gateway-test";
  public static final String SECRET_KEY = "gateway-test-secret";

  private final BlobStore objects;
  private S3Proxy server;
  private int port;

  private TestS3Server(BlobStore objects) {
    this.objects = objects;
  }

  public static TestS3Server start() {
    TestS3Server s3 = new TestS3Server(new TransientNio2BlobStore());
    s3.server = s3.listen(0);
    return s3;
  }

  /** A server whose objects are files under {@code dir}, so their size costs no heap. */
  public static TestS3Server startOnDisk(Path dir) {
    TestS3Server s3 = new TestS3Server(new FilesystemNio2BlobStore(dir.toString()));
    s3.server = s3.listen(0);
    return s3;
  }

  /**
   * Serves the folder {@code args[0]} until killed, and once it listens writes its endpoint to the
   * file {@code args[1]}.
   */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    TestS3Server s3 = startOnDisk(dir);
    Path ready = Path.of(args[1]);
    Path partial = Path.of(args[1] + ".tmp");
    Files.writeString(partial, s3.endpoint());
    Files.move(partial, ready, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    Thread.currentThread().join();
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
    return client(endpoint());
  }

  /** A client of the S3 server at {@code endpoint} that takes this class's key pair. */
  public static S3Client client(String endpoint) {
    return S3Client.builder()
        .httpClient(UrlConnectionHttpClient.create())
        .endpointOverride(URI.create(endpoint))
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
