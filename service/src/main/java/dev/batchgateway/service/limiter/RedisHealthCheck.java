package dev.batchgateway.service.limiter;

import com.codahale.metrics.health.HealthCheck;
import java.util.concurrent.TimeUnit;
import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisNodes;

/** Healthy while Redis answers PING: without it no worker of this gateway gets a permit. */
public class RedisHealthCheck extends HealthCheck {
  private final RedissonClient client;

  public RedisHealthCheck(RedissonClient client) {
    this.client = client;
  }

  @Override
  protected Result check() {
    try {
      if (client
          .getRedisNodes(RedisNodes.SINGLE)
          .pingAll(RedisSettings.COMMAND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
        return Result.healthy();
      }
      return Result.unhealthy("Redis did not answer PING");
    } catch (RuntimeException e) {
      return Result.unhealthy("Redis unreachable: " + e.getMessage());
    }
  }
}
