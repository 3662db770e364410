package dev.batchgateway.service.auth;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.constraints.NotNull;

/**
 * Behind an authenticating proxy: the tenant is read from {@code header}, on connections from
 * {@code proxies} only. Off while {@code header} is empty (the default).
 */
public class TrustedHeaderSettings {
  @NotNull @JsonProperty private String header = "";

  /** Comma-separated IP addresses and CIDR ranges of the proxies. */
  @NotNull @JsonProperty private String proxies = "";

  public boolean enabled() {
    return !header.isBlank();
  }

  public String header() {
    return header.trim();
  }

  public AddressRanges proxyRanges() {
    return AddressRanges.parse(proxies);
  }

  @JsonIgnore
  @ValidationMethod(
      message =
          "trustedHeader: a header needs proxies, IP addresses or CIDR ranges, comma-separated")
  public boolean isProxyListValid() {
    if (!enabled()) {
      return true;
    }
    try {
      return !proxyRanges().isEmpty();
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
