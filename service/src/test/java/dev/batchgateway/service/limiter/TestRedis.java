package dev.batchgateway.service.limiter;

import java.util.UUID;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;

/** The real Redis the limiter tests run against; {@code make test} starts it. */
final class TestRedis {
  private TestRedis() {}

  static String url() {
    String url = System.getenv("BGW_TEST_REDIS_URL");
    if (url == null || url.isBlank()) {
      throw new IllegalStateException(
          "BGW_TEST_REDIS_URL is not set. The limiter tests need a real Redis: run them through"
              + " `make test`, or start `redis-server --port 6391 --save ''` and set"
              + " BGW_TEST_REDIS_URL=redis://127.0.0.1:6391");
    }
    return url;
  }

  static RedissonClient client(String url) {
    RedisSettings settings = new RedisSettings();
    settings.setUrl(url);
    return Redisson.create(settings.toRedissonConfig());
  }

  /** A pool name no other test run shares, so runs never see each other's permits. */
  static String uniquePool(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }
}
