package dev.batchgateway.service.limiter;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.batchgateway.activities.port.PoolLimiter;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jackson.Discoverable;

/**
 * The {@code limiter:} section of the configuration: which {@link PoolLimiter} the workers share,
 * chosen by {@code type:} ({@code local} or {@code redisson}).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public interface LimiterFactory extends Discoverable {

  /**
   * Builds the limiter and registers whatever it needs with the environment (lifecycle, health).
   */
  PoolLimiter build(Environment environment);

  /**
   * The permits a pool starts with, and keeps under {@code capacity.mode: fixed} (set again at
   * start-up, so a limit an adaptive controller left behind does not linger).
   */
  int initialPermits();
}
