package dev.batchgateway.service.auth;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** Maps API keys to tenants, from {@code key:tenant} pairs separated by commas. */
public final class ApiKeys {
  /** Tenants name storage folders, so they are kept to a safe alphabet. */
  private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  private final Map<String, String> tenantsByKey;

  private ApiKeys(Map<String, String> tenantsByKey) {
    this.tenantsByKey = Map.copyOf(tenantsByKey);
  }

  public static ApiKeys parse(String spec) {
    Map<String, String> keys = new HashMap<>();
    for (String pair : spec.split(",")) {
      String trimmed = pair.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      int colon = trimmed.lastIndexOf(':');
      if (colon <= 0 || colon == trimmed.length() - 1) {
        throw new IllegalArgumentException(
            "API keys are 'key:tenant' pairs separated by commas; cannot read '" + trimmed + "'");
      }
      String tenant = trimmed.substring(colon + 1);
      if (!TENANT.matcher(tenant).matches()) {
        throw new IllegalArgumentException(
            "Tenant '" + tenant + "' must be 1-64 letters, digits, '.', '_' or '-'");
      }
      keys.put(trimmed.substring(0, colon), tenant);
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("At least one API key must be configured");
    }
    return new ApiKeys(keys);
  }

  public Optional<String> tenantFor(String key) {
    return Optional.ofNullable(tenantsByKey.get(key));
  }
}
