package dev.batchgateway.service.limiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.redisson.config.Config;

class RedisSettingsTest {

  private static Config config(String url, String password) {
    RedisSettings settings = new RedisSettings();
    settings.setUrl(url);
    settings.setPassword(password);
    return settings.toRedissonConfig();
  }

  @Test
  void aPlainUrlConnectsLazilyWithoutCredentials() {
    Config config = config("redis://127.0.0.1:56379", "");
    assertThat(config.useSingleServer().getAddress()).isEqualTo("redis://127.0.0.1:56379");
    assertThat(config.getPassword()).isNull();
    assertThat(config.isLazyInitialization()).isTrue();
  }

  @Test
  void credentialsAndDatabaseComeFromTheUrlWithoutStayingInTheAddress() {
    Config config = config("rediss://bgw:s%40cret@redis.example:6380/2", null);
    assertThat(config.useSingleServer().getAddress()).isEqualTo("rediss://redis.example:6380");
    assertThat(config.getUsername()).isEqualTo("bgw");
    assertThat(config.getPassword()).isEqualTo("s@cret");
    assertThat(config.useSingleServer().getDatabase()).isEqualTo(2);
  }

  @Test
  void aPasswordSettingWinsOverTheUrl() {
    Config config = config("redis://:fromurl@127.0.0.1", "fromenv");
    assertThat(config.getPassword()).isEqualTo("fromenv");
    assertThat(config.useSingleServer().getAddress()).isEqualTo("redis://127.0.0.1:6379");
  }

  @Test
  void otherSchemesAreRefused() {
    assertThatThrownBy(() -> config("http://127.0.0.1:6379", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("redis://");
  }
}
