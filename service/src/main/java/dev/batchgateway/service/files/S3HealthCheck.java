package dev.batchgateway.service.files;

import com.codahale.metrics.health.HealthCheck;

/** Healthy while the bucket answers a HEAD request. */
final class S3HealthCheck extends HealthCheck {
  private final S3FileStore store;

  S3HealthCheck(S3FileStore store) {
    this.store = store;
  }

  @Override
  protected Result check() {
    try {
      store.checkBucket();
      return Result.healthy("bucket %s answers", store.bucket());
    } catch (RuntimeException e) {
      return Result.unhealthy("bucket %s: %s", store.bucket(), e.getMessage());
    }
  }
}
