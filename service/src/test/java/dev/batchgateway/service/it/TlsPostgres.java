package dev.batchgateway.service.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster that takes TCP connections over TLS only: its own data directory
 * and port, the stack's binaries ({@code BGW_TEST_PG_BIN}), a self-signed certificate for 127.0.0.1
 * made with openssl. The stack's own cluster is left as it is.
 */
final class TlsPostgres implements AutoCloseable {
  static final String DATABASE = "bgw_tls";
  static final String USER = "bgw_tls";
  static final String PASSWORD = "bgw-tls-secret";

  private final Path dir;
  private final Path data;
  final int port;

  /** The server's certificate, which is its own CA: what a client puts in sslrootcert. */
  final Path serverCert;

  /** A CA that signed nothing the server holds. */
  final Path otherCa;

  private TlsPostgres(Path dir, int port) {
    this.dir = dir;
    this.data = dir.resolve("data");
    this.port = port;
    this.serverCert = dir.resolve("root.crt");
    this.otherCa = dir.resolve("other.crt");
  }

  static TlsPostgres start() {
    try {
      Path dir = Files.createTempDirectory("bgw-pgtls-");
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      String osUser = System.getenv("BGW_TEST_PG_OS_USER");
      if (osUser != null && !osUser.isBlank()) {
        UserPrincipal owner =
            dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(osUser);
        Files.setOwner(dir, owner);
      }
      TlsPostgres pg = new TlsPostgres(dir, freePort());
      pg.init();
      return pg;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void init() throws IOException {
    String bin = TestStack.env("BGW_TEST_PG_BIN");
    run(
        true,
        bin + "/initdb",
        "-D",
        data.toString(),
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C");
    run(
        true,
        "openssl",
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
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        data.resolve("server.key").toString(),
        "-out",
        data.resolve("server.crt").toString());
    Files.setPosixFilePermissions(
        data.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));
    Files.copy(data.resolve("server.crt"), serverCert);
    run(
        false,
        "openssl",
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
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        dir.resolve("other.key").toString(),
        "-out",
        otherCa.toString());
    // TCP only with TLS; the Unix socket, for creating the role, without.
    Files.writeString(
        data.resolve("pg_hba.conf"),
        """
        local   all all                trust
        hostssl all all 127.0.0.1/32   scram-sha-256
        host    all all 127.0.0.1/32   reject
        """);
    run(
        true,
        bin + "/pg_ctl",
        "-D",
        data.toString(),
        "-l",
        dir.resolve("postgres.log").toString(),
        "-w",
        "-t",
        "60",
        "-o",
        "-c ssl=on -c port="
            + port
            + " -c listen_addresses=127.0.0.1 -c unix_socket_directories="
            + dir
            + " -c fsync=off",
        "start");
    run(
        true,
        bin + "/psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        dir.toString(),
        "-p",
        String.valueOf(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-c",
        "CREATE ROLE " + USER + " LOGIN PASSWORD '" + PASSWORD + "'",
        "-c",
        "CREATE DATABASE " + DATABASE + " OWNER " + USER);
  }

  /** A JDBC URL for this cluster; {@code params} after the {@code ?}. */
  String jdbcUrl(String params) {
    String url = "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
    return params.isEmpty() ? url : url + "?" + params;
  }

  @Override
  public void close() {
    try {
      run(
          true,
          TestStack.env("BGW_TEST_PG_BIN") + "/pg_ctl",
          "-D",
          data.toString(),
          "-m",
          "immediate",
          "-w",
          "-t",
          "30",
          "stop");
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Runs a command, as the cluster's OS user when {@code asOwner} and the stack names one. */
  private static void run(boolean asOwner, String... args) {
    List<String> command = new ArrayList<>();
    String osUser = System.getenv("BGW_TEST_PG_OS_USER");
    if (asOwner && osUser != null && !osUser.isBlank()) {
      command.addAll(List.of("runuser", "-u", osUser, "--"));
    }
    command.addAll(List.of(args));
    try {
      Process process =
          new ProcessBuilder(command)
              .directory(new java.io.File("/"))
              .redirectErrorStream(true)
              .start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(90, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
