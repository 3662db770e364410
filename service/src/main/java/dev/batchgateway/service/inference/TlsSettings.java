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
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How an {@code https} endpoint is trusted: the JDK's default CAs, a trust store of its own ({@code
 * trustStore}, its password in the environment variable {@code trustStorePasswordEnv}), or — for
 * development only — not at all ({@code insecureSkipVerify}: no certificate or host name check). A
 * {@code keyStore} (its password in {@code keyStorePasswordEnv}) holds the client certificate and
 * key the gateway presents to endpoints that require mTLS.
 */
public class TlsSettings {
  @JsonProperty private String trustStore;
  @JsonProperty private String trustStorePasswordEnv;
  @NotEmpty @JsonProperty private String trustStoreType = "PKCS12";
  @JsonProperty private boolean insecureSkipVerify;
  @JsonProperty private String keyStore;
  @JsonProperty private String keyStorePasswordEnv;
  @NotEmpty @JsonProperty private String keyStoreType = "PKCS12";

  public boolean isInsecureSkipVerify() {
    return insecureSkipVerify;
  }

  /** The context to connect with; the JDK default when nothing here changes it. */
  SSLContext sslContext(Function<String, String> env) throws IOException, GeneralSecurityException {
    if (!insecureSkipVerify && trustStore == null && keyStore == null) {
      return SSLContext.getDefault();
    }
    KeyManager[] keys = null;
    if (keyStore != null) {
      char[] password = password(keyStorePasswordEnv, env);
      KeyManagerFactory factory =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(load(keyStore, keyStoreType, password), password);
      keys = factory.getKeyManagers();
    }
    // Null trust managers: the JDK's default CAs.
    TrustManager[] trust = null;
    if (insecureSkipVerify) {
      trust = new TrustManager[] {new TrustEverything()};
    } else if (trustStore != null) {
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(load(trustStore, trustStoreType, password(trustStorePasswordEnv, env)));
      trust = factory.getTrustManagers();
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys, trust, null);
    return context;
  }

  private static char[] password(String variable, Function<String, String> env) {
    String password = variable == null ? null : env.apply(variable);
    return password == null ? null : password.toCharArray();
  }

  private static KeyStore load(String path, String type, char[] password)
      throws IOException, GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(type);
    try (InputStream in = Files.newInputStream(Path.of(path))) {
      store.load(in, password);
    }
    return store;
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
    if (keyStore != null && !Files.isReadable(Path.of(keyStore))) {
      problems.add("tls.keyStore " + keyStore + " cannot be read");
    }
    if (keyStorePasswordEnv != null && env.apply(keyStorePasswordEnv) == null) {
      problems.add(
          "environment variable " + keyStorePasswordEnv + " (tls.keyStorePasswordEnv) is not set");
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
