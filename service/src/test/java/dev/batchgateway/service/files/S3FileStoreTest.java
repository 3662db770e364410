package dev.batchgateway.service.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.FileStoreContract;
import io.dropwizard.jackson.Jackson;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * The file store contract against a real S3 server, S3Proxy in this process with its in-memory
 * blobstore and signature checking on; then what only S3 can show. Each test gets its own bucket.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3FileStoreTest extends FileStoreContract {
  private static final int PART = S3Upload.MIN_PART_BYTES;

  private final ObjectMapper json = Jackson.newObjectMapper();
  private final AtomicInteger buckets = new AtomicInteger();
  private TestS3Server server;
  private String endpoint;
  private S3Client client;
  private String bucket;

  @BeforeAll
  void startServer() {
    server = TestS3Server.start();
    endpoint = server.endpoint();
    client = settings(Map.of()).buildClient();
  }

  @AfterAll
  void stopServer() throws Exception {
    client.close();
    server.close();
  }

  /** Settings as gateway.yml would give them, pointing at the test server. */
  private S3Settings settings(Map<String, Object> overrides) {
    Map<String, Object> yaml = new HashMap<>();
    yaml.put("endpoint", endpoint);
    yaml.put("pathStyle", true);
    yaml.put("region", "eu-central-1");
    yaml.put("accessKeyId", TestS3Server.ACCESS_KEY);
    yaml.put("secretAccessKey", TestS3Server.SECRET_KEY);
    yaml.put("partSize", "5MiB");
    yaml.put("prefix", "gateway/");
    yaml.put("bucket", "unused");
    yaml.putAll(overrides);
    return json.convertValue(yaml, S3Settings.class);
  }

  private S3FileStore storeIn(String bucket, Map<String, Object> overrides) {
    Map<String, Object> all = new HashMap<>(overrides);
    all.put("bucket", bucket);
    return settings(all).buildStore(client);
  }

  @Override
  protected FileStore newStore() {
    bucket = "bucket-" + buckets.incrementAndGet();
    client.createBucket(b -> b.bucket(bucket));
    return storeIn(bucket, Map.of());
  }

  @Override
  protected int largeObjectBytes() {
    return 2 * PART + 12_345;
  }

  private static byte[] randomBytes(int size) {
    byte[] bytes = new byte[size];
    new Random(7).nextBytes(bytes);
    return bytes;
  }

  @Test
  void objectsLiveUnderTheConfiguredPrefixAndNothingElseIsListed() throws IOException {
    put("t1/files/a", "a");
    client.putObject(
        b -> b.bucket(bucket).key("elsewhere/t1/files/b"),
        software.amazon.awssdk.core.sync.RequestBody.fromString("b"));

    assertThat(client.listObjectsV2(b -> b.bucket(bucket)).contents())
        .extracting(S3Object::key)
        .containsExactly("elsewhere/t1/files/b", "gateway/t1/files/a");
    assertThat(storeIn(bucket, Map.of()).list("")).containsExactly("t1/files/a");
  }

  @Test
  void aLargeObjectGoesUpInPartsAndAnAbandonedOneLeavesNoUpload() throws IOException {
    FileStore store = storeIn(bucket, Map.of());
    byte[] bytes = randomBytes(2 * PART + 1);
    assertThat(store.write("t1/files/large", new ByteArrayInputStream(bytes), bytes.length))
        .isEqualTo(bytes.length);
    try (FileStore.Pending pending = store.create("t1/files/abandoned")) {
      pending.stream().write(bytes);
    }

    HeadObjectResponse head =
        client.headObject(b -> b.bucket(bucket).key("gateway/t1/files/large"));
    assertThat(head.contentLength()).isEqualTo(bytes.length);
    // A multipart object's ETag ends in the number of its parts.
    assertThat(head.eTag()).endsWith("-3\"");
    assertThat(client.listMultipartUploads(b -> b.bucket(bucket)).uploads()).isEmpty();
    assertThat(store.exists("t1/files/abandoned")).isFalse();
  }

  @Test
  void serverSideEncryptionIsAskedForOnSmallAndMultipartObjects() throws IOException {
    FileStore store =
        storeIn(bucket, Map.of("serverSideEncryption", "aws:kms", "kmsKeyId", "gateway-key"));
    store.write("t1/files/small", new ByteArrayInputStream(new byte[10]), 10);
    byte[] large = randomBytes(PART + 1);
    store.write("t1/files/large", new ByteArrayInputStream(large), large.length);
    FileStore plain = storeIn(bucket, Map.of());
    plain.write("t1/files/plain", new ByteArrayInputStream(new byte[10]), 10);

    for (String key : new String[] {"t1/files/small", "t1/files/large"}) {
      HeadObjectResponse head = client.headObject(b -> b.bucket(bucket).key("gateway/" + key));
      assertThat(head.serverSideEncryption()).as(key).isEqualTo(ServerSideEncryption.AWS_KMS);
      assertThat(head.ssekmsKeyId()).as(key).isEqualTo("gateway-key");
    }
    // Without the setting the bucket's default applies (S3's is SSE-S3), not KMS.
    assertThat(
            client
                .headObject(b -> b.bucket(bucket).key("gateway/t1/files/plain"))
                .serverSideEncryption())
        .isNotEqualTo(ServerSideEncryption.AWS_KMS);
    try (var in = store.open("t1/files/large")) {
      assertThat(in.readAllBytes()).isEqualTo(large);
    }
  }

  @Test
  void aReadWhoseConnectionBreaksResumesWhereItWasOnTheSameObject() throws Exception {
    byte[] bytes = randomBytes(24 * 1024 * 1024);
    FileStore resuming = storeIn(bucket, Map.of("maxAttempts", 5));
    FileStore giving = storeIn(bucket, Map.of("maxAttempts", 1));
    resuming.write("t1/files/big", new ByteArrayInputStream(bytes), bytes.length);

    // Without tries left, the cut is an error: the server really breaks the connection.
    try (InputStream in = giving.open("t1/files/big")) {
      in.readNBytes(1024 * 1024);
      server.restart();
      assertThatThrownBy(in::readAllBytes).isInstanceOf(IOException.class);
    }
    try (InputStream in = resuming.openRange("t1/files/big", 1000, bytes.length - 2000)) {
      byte[] head = in.readNBytes(1024 * 1024);
      server.restart();
      byte[] rest = in.readAllBytes();

      assertThat(head.length + rest.length).isEqualTo(bytes.length - 2000);
      assertThat(head).isEqualTo(Arrays.copyOfRange(bytes, 1000, 1000 + head.length));
      assertThat(rest)
          .isEqualTo(Arrays.copyOfRange(bytes, 1000 + head.length, bytes.length - 1000));
    }
    // An object replaced meanwhile is not spliced onto the old one's first bytes.
    try (InputStream in = resuming.open("t1/files/big")) {
      in.readNBytes(1024 * 1024);
      put("t1/files/big", "replaced");
      server.restart();
      assertThatThrownBy(in::readAllBytes).isInstanceOf(IOException.class);
    }
  }

  @Test
  void aRequestDuringAShortOutageSucceedsOnALaterTry() throws Exception {
    put("t1/files/a", "kept");
    S3Settings once = settings(Map.of("bucket", bucket, "maxAttempts", 1));
    S3Settings patient = settings(Map.of("bucket", bucket, "maxAttempts", 10));
    try (S3Client onceClient = once.buildClient();
        S3Client patientClient = patient.buildClient()) {
      int port = server.stop();
      Thread back =
          new Thread(
              () -> {
                try {
                  Thread.sleep(300);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                server.start(port);
              });
      back.start();
      try {
        // With one try the outage is an error, so it is real.
        assertThatThrownBy(() -> once.buildStore(onceClient).exists("t1/files/a"))
            .isInstanceOf(IOException.class);

        assertThat(patient.buildStore(patientClient).exists("t1/files/a")).isTrue();
      } finally {
        back.join();
      }
    }
  }

  @Test
  void wrongCredentialsFailAsIoErrors() {
    S3Settings wrong = settings(Map.of("bucket", bucket, "secretAccessKey", "not-the-secret"));
    try (S3Client other = wrong.buildClient()) {
      FileStore store = wrong.buildStore(other);

      assertThatThrownBy(() -> store.write("t1/files/a", new ByteArrayInputStream(new byte[1]), 1))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("t1/files/a");
      assertThatThrownBy(() -> store.list("t1/")).isInstanceOf(IOException.class);
    }
  }

  @Test
  void anUnreachableServerFailsAsAnIoErrorAfterItsRetries() throws IOException {
    int port;
    try (var socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    S3Settings down =
        settings(
            Map.of("bucket", bucket, "endpoint", "http://127.0.0.1:" + port, "maxAttempts", 2));
    try (S3Client other = down.buildClient()) {
      FileStore store = down.buildStore(other);

      assertThatThrownBy(() -> store.open("t1/files/a")).isInstanceOf(IOException.class);
      assertThatThrownBy(() -> store.exists("t1/files/a")).isInstanceOf(IOException.class);
    }
  }

  @Test
  void theHealthCheckSaysWhetherTheBucketAnswers() {
    assertThat(new S3HealthCheck(storeIn(bucket, Map.of())).execute().isHealthy()).isTrue();
    assertThat(new S3HealthCheck(storeIn("no-such-bucket", Map.of())).execute().isHealthy())
        .isFalse();
  }
}
