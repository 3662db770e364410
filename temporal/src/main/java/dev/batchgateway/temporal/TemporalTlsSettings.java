package dev.batchgateway.temporal;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLException;

/**
 * TLS to the Temporal frontend: off by default. On, the server is checked against {@code caCert} (a
 * PEM file of CA certificates; the JDK's CAs while empty) and the host name in {@code serverName}
 * (the one in {@code temporal.target} while empty); {@code clientCert} and {@code clientKey} (a PEM
 * certificate chain and its PKCS#8 PEM key) add a client certificate, for servers that require mTLS
 * (Temporal Cloud does).
 */
public class TemporalTlsSettings {
  @JsonProperty private boolean enabled;
  @JsonProperty private String caCert = "";
  @JsonProperty private String clientCert = "";
  @JsonProperty private String clientKey = "";
  @JsonProperty private String serverName = "";

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public void setCaCert(String caCert) {
    this.caCert = caCert;
  }

  public void setClientCert(String clientCert) {
    this.clientCert = clientCert;
  }

  public void setClientKey(String clientKey) {
    this.clientKey = clientKey;
  }

  public void setServerName(String serverName) {
    this.serverName = serverName;
  }

  /** The name the server's certificate must carry when it is not the target's host; or null. */
  public String serverNameOverride() {
    return blank(serverName) ? null : serverName;
  }

  /**
   * What stops these settings from working, one line each: settings that contradict each other,
   * files that cannot be read. Empty when they can be used.
   */
  public List<String> problems() {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("caCert", caCert);
    files.put("clientCert", clientCert);
    files.put("clientKey", clientKey);
    List<String> problems = new ArrayList<>();
    if (!enabled) {
      files.put("serverName", serverName);
      files.forEach(
          (name, value) -> {
            if (!blank(value)) {
              problems.add(
                  "temporal.tls."
                      + name
                      + " is set but temporal.tls.enabled is false: the connection would be"
                      + " plain text");
            }
          });
      return problems;
    }
    if (blank(clientCert) != blank(clientKey)) {
      problems.add("temporal.tls.clientCert and temporal.tls.clientKey go together: set both");
    }
    files.forEach(
        (name, value) -> {
          if (!blank(value) && !Files.isReadable(Path.of(value))) {
            problems.add("temporal.tls." + name + " " + value + " cannot be read");
          }
        });
    return problems;
  }

  /**
   * The client side of the TLS connection, or null while TLS is off.
   *
   * @throws IllegalArgumentException naming the setting, when {@link #problems()} finds any or a
   *     file does not hold what it should
   */
  public SslContext sslContext() {
    List<String> problems = problems();
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    if (!enabled) {
      return null;
    }
    SslContextBuilder builder = GrpcSslContexts.forClient();
    if (!blank(caCert)) {
      try {
        builder.trustManager(new File(caCert));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "temporal.tls.caCert " + caCert + " holds no PEM certificate: " + e.getMessage(), e);
      }
    }
    if (!blank(clientCert)) {
      try {
        builder.keyManager(new File(clientCert), new File(clientKey));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "temporal.tls.clientCert "
                + clientCert
                + " and temporal.tls.clientKey "
                + clientKey
                + " must be a PEM certificate chain and its unencrypted PKCS#8 PEM key: "
                + e.getMessage(),
            e);
      }
    }
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new IllegalArgumentException("temporal.tls: " + e.getMessage(), e);
    }
  }

  private static boolean blank(String value) {
    return value == null || value.isBlank();
  }
}
