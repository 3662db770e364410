package dev.batchgateway.service.auth;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Maps API keys to tenants, from {@code key:tenant} pairs separated by commas ({@code
 * BGW_API_KEYS}, for {@code make run} and tests). Empty is allowed: then only the keys in the
 * database are valid.
 */
public final class ApiKeys implements TenantLookup {
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
            "API keys are 'key:tenant' pairs separated by commas; cannot read one of them");
      }
      String tenant = trimmed.substring(colon + 1);
      if (!isValidTenant(tenant)) {
        throw new IllegalArgumentException(
            "Tenant '" + tenant + "' must be 1-64 letters, digits, '.', '_' or '-'");
      }
      keys.put(trimmed.substring(0, colon), tenant);
    }
    return new ApiKeys(keys);
  }

  public static boolean isValidTenant(String tenant) {
    return tenant != null && TENANT.matcher(tenant).matches();
  }

  @Override
  public Optional<String> tenantFor(String key) {
    return Optional.ofNullable(tenantsByKey.get(key));
  }
}
