package dev.batchgateway.service.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.NotEmpty;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How an {@code https} endpoint is trusted: the JDK's default CAs, a trust store of its own ({@code
 * trustStore}, its password in the environment variable {@code trustStorePasswordEnv}), or — for
 * development only — not at all ({@code insecureSkipVerify}: no certificate or host name check).
 */
public class TlsSettings {
  @JsonProperty private String trustStore;
  @JsonProperty private String trustStorePasswordEnv;
  @NotEmpty @JsonProperty private String trustStoreType = "PKCS12";
  @JsonProperty private boolean insecureSkipVerify;

  public boolean isInsecureSkipVerify() {
    return insecureSkipVerify;
  }

  /** The context to connect with; the JDK default when nothing here changes it. */
  SSLContext sslContext(Function<String, String> env) throws IOException, GeneralSecurityException {
    if (insecureSkipVerify) {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new TrustEverything()}, null);
      return context;
    }
    if (trustStore == null) {
      return SSLContext.getDefault();
    }
    KeyStore store = KeyStore.getInstance(trustStoreType);
    String password = trustStorePasswordEnv == null ? null : env.apply(trustStorePasswordEnv);
    try (InputStream in = Files.newInputStream(Path.of(trustStore))) {
      store.load(in, password == null ? null : password.toCharArray());
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }

  List<String> problems(Function<String, String> env) {
    List<String> problems = new ArrayList<>();
    if (insecureSkipVerify && trustStore != null) {
      problems.add("set tls.trustStore or tls.insecureSkipVerify, not both");
    }
    if (trustStore != null && !Files.isReadable(Path.of(trustStore))) {
      problems.add("tls.trustStore " + trustStore + " cannot be read");
    }
    if (trustStorePasswordEnv != null && env.apply(trustStorePasswordEnv) == null) {
      problems.add(
          "environment variable "
              + trustStorePasswordEnv
              + " (tls.trustStorePasswordEnv) is not set");
    }
    return problems;
  }

  /**
   * Accepts any certificate for any host. Being an {@link X509ExtendedTrustManager}, the JDK does
   * not wrap it with its own host name check.
   */
  private static final class TrustEverything extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
