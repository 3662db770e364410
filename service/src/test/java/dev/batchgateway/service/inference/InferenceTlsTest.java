package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.PoolRetry;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Both clients speak TLS with the endpoint's {@code tls:} settings, against an HTTPS server whose
 * certificate (for 127.0.0.1) only its own trust store vouches for.
 */
class InferenceTlsTest {
  private static final String PASSWORD = "changeit";

  @TempDir Path dir;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private Path keyStore;
  private HttpsServer server;
  private HttpInferenceClient client;

  @BeforeEach
  void start() throws Exception {
    keyStore = dir.resolve("server.p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "server",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=127.0.0.1",
                "-ext",
                "SAN=ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                keyStore.toString(),
                "-storepass",
                PASSWORD,
                "-keypass",
                PASSWORD)
            .redirectErrorStream(true)
            .start();
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(keytool.exitValue()).isZero();

    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      store.load(in, PASSWORD.toCharArray());
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, PASSWORD.toCharArray());
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context));
    server.setExecutor(executor);
    server.createContext(
        "/v1/chat/completions",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          byte[] body = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    server.stop(0);
    executor.shutdownNow();
  }

  private InferenceResponse send(InferenceSettings.Client kind, String tls) throws Exception {
    String yaml =
        """
        client: %s
        pools:
          - name: p
            models: [m]
            endpoints:
              - url: "https://127.0.0.1:%d"
                tls: %s
        """
            .formatted(kind.name().toLowerCase(), server.getAddress().getPort(), tls);
    client =
        new HttpInferenceClient(
            PoolsYaml.read(yaml),
            new PoolRetry(1, Duration.ofMillis(1), Duration.ofMillis(1)),
            new ObjectMapper(),
            Clock.systemUTC(),
            Map.of("TRUST_PASSWORD", PASSWORD)::get);
    return client
        .send(new InferenceRequest("m", "/v1/chat/completions", "{}".getBytes(), Map.of()))
        .get(20, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void aServerItsTrustStoreVouchesForIsReached(InferenceSettings.Client kind) throws Exception {
    InferenceResponse response =
        send(
            kind,
            "{trustStore: \"%s\", trustStorePasswordEnv: TRUST_PASSWORD}".formatted(keyStore));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo("{\"ok\":true}");
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void anUnknownCertificateIsRefused(InferenceSettings.Client kind) {
    assertThatThrownBy(() -> send(kind, "{}"))
        .isInstanceOf(ExecutionException.class)
        .satisfies(e -> assertThat(causes(e)).anyMatch(SSLException.class::isInstance));
  }

  private static List<Throwable> causes(Throwable error) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      chain.add(cause);
    }
    return chain;
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void insecureSkipVerifyTakesAnyCertificate(InferenceSettings.Client kind) throws Exception {
    assertThat(send(kind, "{insecureSkipVerify: true}").statusCode()).isEqualTo(200);
  }
}
