package dev.batchgateway.temporal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway certificate authority made with the JDK's keytool: a CA certificate and the
 * certificates it signs, written as the PEM files an operator would hand the gateway.
 */
final class TestPki {
  private static final String PASSWORD = "test-pki";

  private final Path dir;
  private final Path caStore;

  /** The CA's certificate, PEM. */
  final Path caCert;

  /** A certificate the CA signed: its chain (leaf, then CA) and its PKCS#8 key, both PEM. */
  record Issued(Path chain, Path key) {}

  TestPki(Path dir) {
    this.dir = dir;
    this.caStore = dir.resolve("ca.p12");
    this.caCert = dir.resolve("ca.pem");
    keytool(
        "-genkeypair",
        "-alias",
        "ca",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=bgw-test-ca",
        "-ext",
        "bc:c",
        "-validity",
        "2",
        "-storetype",
        "PKCS12",
        "-keystore",
        caStore.toString(),
        "-storepass",
        PASSWORD);
    keytool(
        "-exportcert",
        "-rfc",
        "-alias",
        "ca",
        "-keystore",
        caStore.toString(),
        "-storepass",
        PASSWORD,
        "-file",
        caCert.toString());
  }

  /**
   * @param san the subjectAltName extension, e.g. {@code dns:temporal.test}
   */
  Issued issue(String name, String san) {
    Path store = dir.resolve(name + ".p12");
    Path request = dir.resolve(name + ".csr");
    Path leaf = dir.resolve(name + "-leaf.pem");
    keytool(
        "-genkeypair",
        "-alias",
        name,
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=" + name,
        "-validity",
        "2",
        "-storetype",
        "PKCS12",
        "-keystore",
        store.toString(),
        "-storepass",
        PASSWORD);
    keytool(
        "-certreq",
        "-alias",
        name,
        "-keystore",
        store.toString(),
        "-storepass",
        PASSWORD,
        "-file",
        request.toString());
    keytool(
        "-gencert",
        "-rfc",
        "-alias",
        "ca",
        "-keystore",
        caStore.toString(),
        "-storepass",
        PASSWORD,
        "-infile",
        request.toString(),
        "-outfile",
        leaf.toString(),
        "-validity",
        "2",
        "-ext",
        "SAN=" + san);
    try {
      Path chain = dir.resolve(name + ".pem");
      Files.writeString(chain, Files.readString(leaf) + Files.readString(caCert));
      KeyStore keys = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        keys.load(in, PASSWORD.toCharArray());
      }
      PrivateKey key = (PrivateKey) keys.getKey(name, PASSWORD.toCharArray());
      Path keyFile = dir.resolve(name + "-key.pem");
      Files.writeString(
          keyFile,
          "-----BEGIN PRIVATE KEY-----\n"
              + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                  .encodeToString(key.getEncoded())
              + "\n-----END PRIVATE KEY-----\n");
      return new Issued(chain, keyFile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void keytool(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException("keytool failed: " + command + "\n" + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
