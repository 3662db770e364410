package dev.batchgateway.service.limiter;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.NotEmpty;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import org.redisson.config.Config;
import org.redisson.config.SingleServerConfig;

/**
 * Where Redis is: {@code redis://[user:password@]host:port[/db]}, or {@code rediss://} for TLS. A
 * {@code password} set here wins over one in the URL, so the URL can stay free of secrets.
 */
public class RedisSettings {
  static final int COMMAND_TIMEOUT_MILLIS = 2000;

  @NotEmpty @JsonProperty private String url = "redis://127.0.0.1:56379";

  @JsonProperty private String password;

  public String getUrl() {
    return url;
  }

  public void setUrl(String url) {
    this.url = url;
  }

  public void setPassword(String password) {
    this.password = password;
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
    return config;
  }

  private static String decode(String part) {
    return URLDecoder.decode(part, StandardCharsets.UTF_8);
  }
}
