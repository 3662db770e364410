package dev.batchgateway.temporal;

import com.codahale.metrics.health.HealthCheck;
import io.temporal.api.workflowservice.v1.DescribeNamespaceRequest;
import java.util.concurrent.TimeUnit;

/** Healthy when the Temporal frontend answers for our namespace within two seconds. */
public final class TemporalHealthCheck extends HealthCheck {
  private final TemporalConnection connection;

  public TemporalHealthCheck(TemporalConnection connection) {
    this.connection = connection;
  }

  @Override
  protected Result check() {
    try {
      connection
          .stubs()
          .blockingStub()
          .withDeadlineAfter(2, TimeUnit.SECONDS)
          .describeNamespace(
              DescribeNamespaceRequest.newBuilder().setNamespace(connection.namespace()).build());
      return Result.healthy();
    } catch (RuntimeException e) {
      return Result.unhealthy("Temporal is not reachable: " + e.getMessage());
    }
  }
}
