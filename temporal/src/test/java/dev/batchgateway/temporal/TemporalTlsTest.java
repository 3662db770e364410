package dev.batchgateway.temporal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.temporal.api.workflowservice.v1.DescribeNamespaceRequest;
import io.temporal.api.workflowservice.v1.DescribeNamespaceResponse;
import io.temporal.internal.testservice.TestServicesStarter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's Temporal connection over TLS and mTLS, against the Temporal SDK's in-memory service
 * behind a gRPC server that demands a client certificate from the test CA and presents one for
 * {@code temporal.test}, not for the 127.0.0.1 the gateway dials.
 */
class TemporalTlsTest {
  @TempDir static Path dir;

  private static TestPki pki;
  private static TestPki.Issued client;
  private static TestServicesStarter temporal;
  private static Server server;

  private TemporalConnection connection;

  @BeforeAll
  static void start() throws Exception {
    pki = new TestPki(dir);
    TestPki.Issued serverCert = pki.issue("temporal", "dns:temporal.test");
    client = pki.issue("gateway", "dns:gateway.test");
    temporal = new TestServicesStarter(false, System.currentTimeMillis());
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .sslContext(
                GrpcSslContexts.forServer(serverCert.chain().toFile(), serverCert.key().toFile())
                    .trustManager(pki.caCert.toFile())
                    .clientAuth(ClientAuth.REQUIRE)
                    .build());
    for (BindableService service : temporal.getServices()) {
      builder.addService(service);
    }
    server = builder.build().start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    temporal.close();
  }

  @AfterEach
  void close() throws Exception {
    if (connection != null) {
      connection.stop();
    }
  }

  private TemporalSettings settings(TemporalTlsSettings tls) {
    TemporalSettings settings = new TemporalSettings();
    settings.setTarget("127.0.0.1:" + server.getPort());
    settings.setTls(tls);
    return settings;
  }

  private static TemporalTlsSettings mutualTls() {
    TemporalTlsSettings tls = new TemporalTlsSettings();
    tls.setEnabled(true);
    tls.setCaCert(pki.caCert.toString());
    tls.setClientCert(client.chain().toString());
    tls.setClientKey(client.key().toString());
    tls.setServerName("temporal.test");
    return tls;
  }

  private DescribeNamespaceResponse describe(TemporalTlsSettings tls) {
    connection = new TemporalConnection(settings(tls), new MetricRegistry());
    return connection
        .stubs()
        .blockingStub()
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .describeNamespace(DescribeNamespaceRequest.newBuilder().setNamespace("default").build());
  }

  @Test
  void mutualTlsWithTheServerNameReachesTemporal() {
    DescribeNamespaceResponse namespace = describe(mutualTls());

    assertThat(namespace.getNamespaceInfo().getName()).isEqualTo("default");
    assertThat(new TemporalHealthCheck(connection).execute().isHealthy()).isTrue();
  }

  @Test
  void withoutTheClientCertificateTheServerHangsUp() {
    TemporalTlsSettings tls = mutualTls();
    tls.setClientCert("");
    tls.setClientKey("");

    assertThatThrownBy(() -> describe(tls))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    HealthCheck.Result health = new TemporalHealthCheck(connection).execute();
    assertThat(health.isHealthy()).isFalse();
    assertThat(health.getMessage()).startsWith("Temporal is not reachable");
  }

  @Test
  void withoutTheServerNameTheCertificateDoesNotMatchTheAddress() {
    TemporalTlsSettings tls = mutualTls();
    tls.setServerName("");

    assertThatThrownBy(() -> describe(tls))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE))
        .hasStackTraceContaining("No subject alternative names matching IP address 127.0.0.1");
  }

  @Test
  void aServerTheCaDidNotSignIsRefused() {
    TemporalTlsSettings tls = mutualTls();
    // The JDK's CAs, which never signed the test server's certificate.
    tls.setCaCert("");

    assertThatThrownBy(() -> describe(tls))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE))
        .hasStackTraceContaining("PKIX path building failed");
  }

  @Test
  void plainTextIsTheDefaultAndGetsNoAnswerFromATlsServer() {
    TemporalTlsSettings off = new TemporalTlsSettings();
    assertThat(off.isEnabled()).isFalse();
    assertThat(off.sslContext()).isNull();

    assertThatThrownBy(() -> describe(off))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void aMissingFileIsNamedAtStartup() {
    TemporalTlsSettings tls = mutualTls();
    String missing = dir.resolve("nowhere-key.pem").toString();
    tls.setClientKey(missing);

    assertThatThrownBy(() -> new TemporalConnection(settings(tls), new MetricRegistry()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("temporal.tls.clientKey " + missing + " cannot be read");
  }

  @Test
  void aFileThatIsNotPemIsNamedAtStartup() {
    TemporalTlsSettings tls = mutualTls();
    // A PEM certificate where the CA file is expected is fine; a key is not a certificate.
    tls.setCaCert(client.key().toString());

    assertThatThrownBy(tls::sslContext)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(
            "temporal.tls.caCert " + client.key() + " holds no PEM certificate");
  }

  @Test
  void aCertificateWithoutItsKeyIsRefused() {
    TemporalTlsSettings tls = mutualTls();
    tls.setClientKey("");

    assertThatThrownBy(tls::sslContext)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("temporal.tls.clientCert and temporal.tls.clientKey go together: set both");
  }

  @Test
  void filesWhileTlsIsOffAreRefusedRatherThanIgnored() {
    TemporalTlsSettings tls = mutualTls();
    tls.setEnabled(false);

    assertThatThrownBy(tls::sslContext)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("temporal.tls.clientCert is set but temporal.tls.enabled is false");
  }
}
