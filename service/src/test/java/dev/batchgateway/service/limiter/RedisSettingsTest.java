package dev.batchgateway.service.limiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
  void storesGoToRedissonAsFileUrlsWithTheirPasswords(@TempDir Path dir) throws Exception {
    Path trust = Files.writeString(dir.resolve("trust.p12"), "");
    Path keys = Files.writeString(dir.resolve("client.p12"), "");
    RedisSettings settings = new RedisSettings();
    settings.setUrl("rediss://redis.example:6380");
    settings.setTrustStore(trust.toString(), "tpass");
    settings.setKeyStore(keys.toString(), "kpass");

    Config config = settings.toRedissonConfig();

    assertThat(config.getSslTruststore()).isEqualTo(trust.toUri().toURL());
    assertThat(config.getSslTruststorePassword()).isEqualTo("tpass");
    assertThat(config.getSslKeystore()).isEqualTo(keys.toUri().toURL());
    assertThat(config.getSslKeystorePassword()).isEqualTo("kpass");
  }

  @Test
  void storesWithoutRedissAreRefused(@TempDir Path dir) throws Exception {
    RedisSettings settings = new RedisSettings();
    settings.setUrl("redis://redis.example:6379");
    settings.setTrustStore(Files.writeString(dir.resolve("trust.p12"), "").toString(), "");

    assertThatThrownBy(settings::toRedissonConfig)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "redis.trustStore is set but redis.url is not rediss://: the connection would be plain");
  }

  @Test
  void anUnreadableStoreIsNamed() {
    RedisSettings settings = new RedisSettings();
    settings.setUrl("rediss://redis.example:6380");
    settings.setKeyStore("/nowhere/client.p12", "");

    assertThatThrownBy(settings::toRedissonConfig)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("redis.keyStore /nowhere/client.p12 cannot be read");
  }

  @Test
  void otherSchemesAreRefused() {
    assertThatThrownBy(() -> config("http://127.0.0.1:6379", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("redis://");
  }
}
