package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The API over HTTPS, turned on the way an operator does it: gateway.yml's connector with a key
 * store in {@code keyStorePath}. The key store is made here, for 127.0.0.1, and only a client that
 * trusts its certificate gets in.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class HttpsApiIT {
  private static final String TENANT = TestStack.uniqueTenant("https");
  private static final String PASSWORD = "https-it-secret";
  private static final Path DIR = tempDir();
  private static final Path KEY_STORE = DIR.resolve("gateway.p12");
  private static final Path CERTIFICATE = DIR.resolve("gateway.pem");

  static {
    keytool(
        "-genkeypair",
        "-alias",
        "gateway",
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
        KEY_STORE.toString(),
        "-storepass",
        PASSWORD);
    keytool(
        "-exportcert",
        "-rfc",
        "-alias",
        "gateway",
        "-keystore",
        KEY_STORE.toString(),
        "-storepass",
        PASSWORD,
        "-file",
        CERTIFICATE.toString());
  }

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-https:" + TENANT,
          "BGW_TEST_INFERENCE_URL",
          ConfigOverride.config(
              "server.applicationConnectors[0].keyStorePath", KEY_STORE.toString()),
          ConfigOverride.config("server.applicationConnectors[0].keyStorePassword", PASSWORD));

  @AfterAll
  static void removeKeyStore() throws IOException {
    Files.deleteIfExists(KEY_STORE);
    Files.deleteIfExists(CERTIFICATE);
    Files.deleteIfExists(DIR);
  }

  @Test
  void uploadCreateListAndDownloadOverHttps() throws Exception {
    Api api = new Api(trustingClient(), "https://127.0.0.1:" + APP.getLocalPort(), "sk-https");
    String model = TestStack.model();
    String input = Lines.chat("a", model, null, "Hello", 5) + "\n";

    HttpResponse<String> upload =
        api.upload(
            "input.jsonl",
            input.getBytes(StandardCharsets.UTF_8),
            Map.of("purpose", "batch"),
            false);
    assertThat(upload.statusCode()).as(upload.body()).isEqualTo(200);
    String fileId = Api.json(upload).get("id").asText();

    String batchId = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    HttpResponse<String> list = api.get("/v1/batches");
    assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
    assertThat(Api.json(list).get("object").asText()).isEqualTo("list");
    assertThat(Api.json(list).get("data").findValuesAsText("id")).contains(batchId);

    JsonNode batch = api.awaitTerminal(batchId, Duration.ofMinutes(1));
    assertThat(batch.get("status").asText()).isEqualTo("completed");
    List<JsonNode> output = api.lines(batch.get("output_file_id").asText());
    assertThat(output).hasSize(1);
    assertThat(output.get(0).get("custom_id").asText()).isEqualTo("a");
    assertThat(output.get(0).at("/response/status_code").asInt()).isEqualTo(200);
  }

  @Test
  void aClientThatDoesNotTrustTheCertificateIsRefused() {
    Api untrusting =
        new Api(HttpClient.newHttpClient(), "https://127.0.0.1:" + APP.getLocalPort(), "sk-https");

    assertThatThrownBy(() -> untrusting.get("/v1/batches"))
        .isInstanceOf(UncheckedIOException.class)
        .cause()
        .isInstanceOf(SSLHandshakeException.class)
        .hasMessageContaining("PKIX path building failed");
  }

  @Test
  void plainHttpOnTheApiPortGetsNoAnswer() {
    Api plain = new Api(APP.getLocalPort(), "sk-https");

    // The port is open (the other tests reach it); what comes back is no HTTP answer at all.
    assertThatThrownBy(() -> plain.get("/v1/batches"))
        .isInstanceOf(UncheckedIOException.class)
        .cause()
        .isNotInstanceOf(java.net.ConnectException.class);
  }

  @Test
  void theAdminPortStaysPlainHttp() throws Exception {
    HttpResponse<String> ping =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + APP.getAdminPort() + "/ping"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(ping.statusCode()).isEqualTo(200);
  }

  /** A client whose only trusted certificate is the gateway's. */
  private static HttpClient trustingClient() throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(CERTIFICATE)) {
      trust.setCertificateEntry(
          "gateway", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(context).build();
  }

  private static Path tempDir() {
    try {
      return Files.createTempDirectory("bgw-https-it-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void keytool(String... args) {
    List<String> command =
        new java.util.ArrayList<>(
            List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException("keytool " + command + " failed: " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
