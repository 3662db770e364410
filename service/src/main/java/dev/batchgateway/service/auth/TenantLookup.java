package dev.batchgateway.service.auth;

import java.util.Optional;

/** Finds the tenant a presented API key belongs to; empty for a key that is not valid. */
@FunctionalInterface
public interface TenantLookup {
  Optional<String> tenantFor(String presentedKey);

  /** This lookup, then {@code next} for a key this one does not know. */
  default TenantLookup orElse(TenantLookup next) {
    return key -> {
      Optional<String> tenant = tenantFor(key);
      return tenant.isPresent() ? tenant : next.tenantFor(key);
    };
  }
}
