package dev.batchgateway.service.limiter;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.NotEmpty;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.redisson.config.Config;
import org.redisson.config.SingleServerConfig;

/**
 * Where Redis is: {@code redis://[user:password@]host:port[/db]}, or {@code rediss://} for TLS. A
 * {@code password} set here wins over one in the URL, so the URL can stay free of secrets. Over TLS
 * the server's certificate and host name are checked against the JDK's CAs, or the PKCS12 {@code
 * trustStore}; a PKCS12 {@code keyStore} adds a client certificate, for servers that require one
 * ({@code tls-auth-clients yes}).
 */
public class RedisSettings {
  static final int COMMAND_TIMEOUT_MILLIS = 2000;

  @NotEmpty @JsonProperty private String url = "redis://127.0.0.1:56379";

  @JsonProperty private String password;

  @JsonProperty private String trustStore = "";
  @JsonProperty private String trustStorePassword = "";
  @JsonProperty private String keyStore = "";
  @JsonProperty private String keyStorePassword = "";

  public String getUrl() {
    return url;
  }

  public void setUrl(String url) {
    this.url = url;
  }

  public void setPassword(String password) {
    this.password = password;
  }

  public void setTrustStore(String trustStore, String password) {
    this.trustStore = trustStore;
    this.trustStorePassword = password;
  }

  public void setKeyStore(String keyStore, String password) {
    this.keyStore = keyStore;
    this.keyStorePassword = password;
  }

  Config toRedissonConfig() {
    URI uri = URI.create(url);
    if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme())) {
      throw new IllegalArgumentException(
          "redis.url must start with redis:// or rediss://, got " + uri.getScheme());
    }
    int port = uri.getPort() == -1 ? 6379 : uri.getPort();
    Config config = new Config();
    // Connect on first use: a gateway whose Redis is down still starts, reports unhealthy and
    // dispatches nothing until Redis answers.
    config.setLazyInitialization(true);
    SingleServerConfig server =
        config
            .useSingleServer()
            .setAddress(uri.getScheme() + "://" + uri.getHost() + ":" + port)
            .setConnectTimeout(COMMAND_TIMEOUT_MILLIS)
            .setTimeout(COMMAND_TIMEOUT_MILLIS);
    String userInfo = uri.getRawUserInfo();
    if (userInfo != null && !userInfo.isEmpty()) {
      int colon = userInfo.indexOf(':');
      if (colon < 0) {
        config.setPassword(decode(userInfo));
      } else {
        if (colon > 0) {
          config.setUsername(decode(userInfo.substring(0, colon)));
        }
        config.setPassword(decode(userInfo.substring(colon + 1)));
      }
    }
    if (password != null && !password.isEmpty()) {
      config.setPassword(password);
    }
    String path = uri.getPath();
    if (path != null && path.length() > 1) {
      server.setDatabase(Integer.parseInt(path.substring(1)));
    }
    List<String> problems = problems();
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    if (!blank(trustStore)) {
      config.setSslTruststore(fileUrl(trustStore));
      config.setSslTruststorePassword(blank(trustStorePassword) ? null : trustStorePassword);
    }
    if (!blank(keyStore)) {
      config.setSslKeystore(fileUrl(keyStore));
      config.setSslKeystorePassword(blank(keyStorePassword) ? null : keyStorePassword);
    }
    return config;
  }

  /** The trust and key store settings that cannot work, one line each; empty when they can. */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    boolean tls = url != null && url.startsWith("rediss:");
    Map<String, String> stores = new LinkedHashMap<>();
    stores.put("trustStore", trustStore);
    stores.put("keyStore", keyStore);
    stores.forEach(
        (name, path) -> {
          if (blank(path)) {
            return;
          }
          if (!tls) {
            problems.add(
                "redis."
                    + name
                    + " is set but redis.url is not rediss://: the connection would be plain");
          } else if (!Files.isReadable(Path.of(path))) {
            problems.add("redis." + name + " " + path + " cannot be read");
          }
        });
    return problems;
  }

  private static URL fileUrl(String path) {
    try {
      return Path.of(path).toUri().toURL();
    } catch (MalformedURLException e) {
      throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
    }
  }

  private static boolean blank(String value) {
    return value == null || value.isBlank();
  }

  private static String decode(String part) {
    return URLDecoder.decode(part, StandardCharsets.UTF_8);
  }
}
