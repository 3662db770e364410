package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An endpoint that requires a client certificate: both clients present the one in the endpoint's
 * {@code tls.keyStore}, and without it get no answer.
 */
class InferenceMutualTlsTest {
  private static final String PASSWORD = "changeit";

  @TempDir Path dir;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private Path serverStore;
  private Path clientStore;
  private HttpsServer server;
  private HttpInferenceClient client;

  @BeforeEach
  void start() throws Exception {
    serverStore = keyPair("server", "CN=127.0.0.1", "SAN=ip:127.0.0.1");
    clientStore = keyPair("gateway", "CN=gateway", "SAN=dns:gateway.test");
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(load(serverStore), PASSWORD.toCharArray());
    // The server trusts the one client certificate in the gateway's key store.
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(load(clientStore));
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(
        new HttpsConfigurator(context) {
          @Override
          public void configure(HttpsParameters params) {
            SSLParameters ssl = context.getDefaultSSLParameters();
            ssl.setNeedClientAuth(true);
            params.setSSLParameters(ssl);
          }
        });
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

  private Path keyPair(String alias, String dname, String san) throws Exception {
    Path store = dir.resolve(alias + ".p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                alias,
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                dname,
                "-ext",
                san,
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                store.toString(),
                "-storepass",
                PASSWORD)
            .redirectErrorStream(true)
            .start();
    keytool.getInputStream().readAllBytes();
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(keytool.exitValue()).isZero();
    return store;
  }

  private static KeyStore load(Path path) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(path)) {
      store.load(in, PASSWORD.toCharArray());
    }
    return store;
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
            Map.of("TRUST_PASSWORD", PASSWORD, "KEY_PASSWORD", PASSWORD)::get);
    return client
        .send(new InferenceRequest("m", "/v1/chat/completions", "{}".getBytes(), Map.of()))
        .get(20, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void theClientCertificateOfTheKeyStoreIsPresented(InferenceSettings.Client kind)
      throws Exception {
    InferenceResponse response =
        send(
            kind,
            ("{trustStore: \"%s\", trustStorePasswordEnv: TRUST_PASSWORD,"
                    + " keyStore: \"%s\", keyStorePasswordEnv: KEY_PASSWORD}")
                .formatted(serverStore, clientStore));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo("{\"ok\":true}");
  }

  @ParameterizedTest
  @EnumSource(InferenceSettings.Client.class)
  void withoutAClientCertificateThereIsNoAnswer(InferenceSettings.Client kind) {
    // Under TLS 1.3 the server's refusal comes after the client's handshake: an alert or a
    // closed connection, depending on the client; either way no response.
    assertThatThrownBy(
            () ->
                send(
                    kind,
                    "{trustStore: \"%s\", trustStorePasswordEnv: TRUST_PASSWORD}"
                        .formatted(serverStore)))
        .isInstanceOf(ExecutionException.class);
  }

  @Test
  void anUnreadableKeyStoreOrAnUnsetPasswordVariableIsAProblem() throws Exception {
    TlsSettings tls =
        PoolsYaml.read(
                """
                pools:
                  - name: p
                    models: [m]
                    endpoints:
                      - url: "https://127.0.0.1:1"
                        tls: {keyStore: /nowhere/gateway.p12, keyStorePasswordEnv: NOT_SET}
                """)
            .effectivePools()
            .get(0)
            .getEndpoints()
            .get(0)
            .getTls();

    assertThat(tls.problems(Map.<String, String>of()::get))
        .isEqualTo(
            List.of(
                "tls.keyStore /nowhere/gateway.p12 cannot be read",
                "environment variable NOT_SET (tls.keyStorePasswordEnv) is not set"));
  }
}
