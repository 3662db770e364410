package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The gateway on a PostgreSQL that only takes TLS, with the JDBC URL an operator writes in
 * BGW_DB_URL: {@code sslmode=verify-full} and the server's CA in {@code sslrootcert}.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PostgresTlsIT {
  private static final String TENANT = TestStack.uniqueTenant("pg-tls");

  // Started when the class loads, before the gateway, which migrates its schema at startup.
  private static final TlsPostgres PG = TlsPostgres.start();

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gatewayOnDatabase(
          "sk-pg-tls:" + TENANT,
          () -> PG.jdbcUrl(verifyFull(PG.serverCert.toString())),
          () -> TlsPostgres.USER,
          () -> TlsPostgres.PASSWORD);

  @AfterAll
  static void stop() {
    PG.close();
  }

  private static String verifyFull(String rootCert) {
    return "sslmode=verify-full&sslrootcert=" + rootCert;
  }

  private static Connection connect(String params) throws SQLException {
    return DriverManager.getConnection(PG.jdbcUrl(params), TlsPostgres.USER, TlsPostgres.PASSWORD);
  }

  @Test
  void theGatewaysConnectionsAreAllTls() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-pg-tls");
    HttpResponse<String> upload =
        api.upload(
            "input.jsonl",
            "{\"a\":1}\n".getBytes(StandardCharsets.UTF_8),
            Map.of("purpose", "batch"),
            false);
    assertThat(upload.statusCode()).as(upload.body()).isEqualTo(200);
    String id = Api.json(upload).get("id").asText();
    HttpResponse<String> list = api.get("/v1/files");
    assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
    assertThat(Api.json(list).get("data").findValuesAsText("id")).contains(id);

    try (Connection db = connect(verifyFull(PG.serverCert.toString()));
        Statement sql = db.createStatement()) {
      ResultSet own = sql.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      assertThat(own.next()).isTrue();
      assertThat(own.getBoolean(1)).isTrue();
      // Every session of the gateway's pool, seen from the server.
      ResultSet pool =
          sql.executeQuery(
              "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a"
                  + " JOIN pg_stat_ssl s USING (pid)"
                  + " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()");
      assertThat(pool.next()).isTrue();
      assertThat(pool.getInt(1)).isPositive();
      assertThat(pool.getInt(2)).isEqualTo(pool.getInt(1));
    }
  }

  /** What README says of a BGW_DB_URL without sslmode: TLS when offered, but unchecked. */
  @Test
  void withoutSslmodePgJdbcTakesTlsWhenOfferedWithoutCheckingTheCertificate() throws Exception {
    try (Connection db = connect("");
        Statement sql = db.createStatement()) {
      ResultSet own = sql.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      assertThat(own.next()).isTrue();
      assertThat(own.getBoolean(1)).isTrue();
    }
  }

  @Test
  void plainTextIsRefused() {
    assertThatThrownBy(() -> connect("sslmode=disable").close())
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("no encryption");
  }

  @Test
  void aServerCertificateTheRootCertDidNotSignIsRefused() {
    assertThatThrownBy(() -> connect(verifyFull(PG.otherCa.toString())).close())
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("SSL error");
  }
}
