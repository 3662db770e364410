package dev.batchgateway.service.limiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * The limiter's Redis client over TLS, against a redis-server of its own that takes TLS only and
 * requires a client certificate ({@code tls-auth-clients yes}); CA, server and client certificates
 * are made with openssl, the PKCS12 stores the gateway reads from them.
 */
class RedisTlsIT {
  private static final String PASSWORD = "redis-tls-secret";

  @TempDir static Path dir;
  private static Process redis;
  private static int port;
  private static Path trustStore;
  private static Path keyStore;

  private RedissonClient client;

  @BeforeAll
  static void start() throws Exception {
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=bgw-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt");
    issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1");
    issue("client", "/CN=gateway", "extendedKeyUsage=clientAuth");
    keyStore = dir.resolve("client.p12");
    openssl(
        "pkcs12",
        "-export",
        "-in",
        "client.crt",
        "-inkey",
        "client.key",
        "-out",
        keyStore.toString(),
        "-passout",
        "pass:" + PASSWORD);
    trustStore = dir.resolve("trust.p12");
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(dir.resolve("ca.crt"))) {
      trust.setCertificateEntry(
          "ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    try (OutputStream out = Files.newOutputStream(trustStore)) {
      trust.store(out, PASSWORD.toCharArray());
    }
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    redis =
        new ProcessBuilder(
                "redis-server",
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--tls-port",
                String.valueOf(port),
                "--tls-cert-file",
                "server.crt",
                "--tls-key-file",
                "server.key",
                "--tls-ca-cert-file",
                "ca.crt",
                "--tls-auth-clients",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no")
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("redis.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!listening()) {
      if (System.nanoTime() > deadline || !redis.isAlive()) {
        throw new IllegalStateException(
            "redis-server did not start: " + Files.readString(dir.resolve("redis.log")));
      }
      Thread.sleep(50);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (redis != null) {
      redis.destroy();
      redis.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @AfterEach
  void close() {
    if (client != null) {
      client.shutdown();
    }
  }

  private static boolean listening() {
    try (Socket ignored = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private RedissonClient connect(boolean withTrustStore, boolean withKeyStore) {
    RedisSettings settings = new RedisSettings();
    settings.setUrl("rediss://127.0.0.1:" + port);
    if (withTrustStore) {
      settings.setTrustStore(trustStore.toString(), PASSWORD);
    }
    if (withKeyStore) {
      settings.setKeyStore(keyStore.toString(), PASSWORD);
    }
    Config config = settings.toRedissonConfig();
    // A refused handshake is refused again: no need to wait out the default retries.
    config.useSingleServer().setRetryAttempts(0);
    client = Redisson.create(config);
    return client;
  }

  @Test
  void withTheCaAndAClientCertificateCommandsGoThrough() {
    RedissonClient redisson = connect(true, true);

    redisson.getBucket("tls-check").set("over tls");
    assertThat(redisson.<String>getBucket("tls-check").get()).isEqualTo("over tls");
    assertThat(new RedisHealthCheck(redisson).execute().isHealthy()).isTrue();
  }

  @Test
  void withoutTheClientCertificateRedisHangsUp() {
    RedissonClient redisson = connect(true, false);

    assertThatThrownBy(() -> redisson.getBucket("tls-check").get())
        .isInstanceOf(org.redisson.client.RedisException.class);
    assertThat(new RedisHealthCheck(redisson).execute().isHealthy()).isFalse();
  }

  @Test
  void withTheJdksCasTheServerIsNotTrusted() {
    RedissonClient redisson = connect(false, true);

    assertThatThrownBy(() -> redisson.getBucket("tls-check").get())
        .isInstanceOf(org.redisson.client.RedisException.class)
        .hasStackTraceContaining("PKIX path building failed");
  }

  private static void issue(String name, String subject, String extension) {
    try {
      Files.writeString(dir.resolve(name + ".ext"), extension + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        subject,
        "-keyout",
        name + ".key",
        "-out",
        name + ".csr");
    openssl(
        "x509",
        "-req",
        "-in",
        name + ".csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        name + ".ext",
        "-out",
        name + ".crt");
  }

  private static void openssl(String... args) {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    try {
      Process process =
          new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
