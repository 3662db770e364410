package dev.batchgateway.service.limiter;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.batchgateway.activities.limiter.LocalConcurrencyLimiter;
import dev.batchgateway.activities.port.PoolLimiter;
import io.dropwizard.core.setup.Environment;
import jakarta.validation.constraints.Min;

/**
 * {@code type: local}: permits counted in this process only, for a gateway that runs as one node.
 * The Redis keys are accepted and ignored, so one gateway.yml serves either type.
 */
@JsonTypeName("local")
@JsonIgnoreProperties({"redis", "leaseTime", "permitReuse"})
public class LocalLimiterFactory implements LimiterFactory {

  @Min(0)
  @JsonProperty
  private int initialPermits = 256;

  @Override
  public PoolLimiter build(Environment environment) {
    return new LocalConcurrencyLimiter(initialPermits);
  }

  @Override
  public int initialPermits() {
    return initialPermits;
  }
}
