package dev.batchgateway.service.limiter;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.batchgateway.activities.port.PoolLimiter;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * {@code type: redisson}: one semaphore per pool in Redis, shared by every worker that points at
 * the same Redis. Registers the {@code redis} health check and closes the client on shutdown.
 */
@JsonTypeName("redisson")
public class RedissonLimiterFactory implements LimiterFactory {

  /** Permits a pool starts with the first time any worker uses it. */
  @Min(0)
  @JsonProperty
  private int initialPermits = 256;

  /** How long a permit outlives a worker that stopped renewing it (a crash, a pause). */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  private Duration leaseTime = Duration.seconds(30);

  /**
   * How long a permit taken from Redis may be handed from one request of this worker to the next
   * before it goes back to Redis; 0 gives every permit back as its request ends. At most a third of
   * {@code leaseTime} is used.
   */
  /** Redisson's own default for its listener threads. */
  private static final int LISTENER_THREADS = 16;

  @NotNull @JsonProperty private Duration permitReuse = Duration.seconds(1);

  @Valid @NotNull @JsonProperty private RedisSettings redis = new RedisSettings();

  public RedisSettings getRedis() {
    return redis;
  }

  @Override
  public PoolLimiter build(Environment environment) {
    Config config = redis.toRedissonConfig();
    RedissonListenerExecutor listeners = new RedissonListenerExecutor(LISTENER_THREADS);
    config.setExecutor(listeners);
    RedissonClient client = Redisson.create(config);
    RedissonConcurrencyLimiter limiter =
        new RedissonConcurrencyLimiter(
            client,
            initialPermits,
            java.time.Duration.ofMillis(leaseTime.toMilliseconds()),
            java.time.Duration.ofMillis(permitReuse.toMilliseconds()));
    environment
        .lifecycle()
        .manage(
            new Managed() {
              @Override
              public void stop() {
                limiter.close();
                client.shutdown();
                listeners.shutdown();
              }
            });
    environment.healthChecks().register("redis", new RedisHealthCheck(client));
    return limiter;
  }

  @Override
  public int initialPermits() {
    return initialPermits;
  }
}
