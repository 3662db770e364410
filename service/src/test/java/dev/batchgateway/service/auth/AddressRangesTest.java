package dev.batchgateway.service.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AddressRangesTest {

  @Test
  void addressesAndRangesOfBothFamilies() {
    AddressRanges ranges = AddressRanges.parse("10.0.0.0/8, 192.168.1.7, 172.16.0.0/12, fd00::/8");
    assertThat(ranges.contains("10.200.3.4")).isTrue();
    assertThat(ranges.contains("11.0.0.1")).isFalse();
    assertThat(ranges.contains("192.168.1.7")).isTrue();
    assertThat(ranges.contains("192.168.1.8")).isFalse();
    assertThat(ranges.contains("172.31.255.255")).isTrue();
    assertThat(ranges.contains("172.32.0.0")).isFalse();
    assertThat(ranges.contains("fd12:3456::1")).isTrue();
    assertThat(ranges.contains("[fd12:3456::1]")).isTrue();
    assertThat(ranges.contains("fe80::1")).isFalse();
    assertThat(ranges.contains("proxy.internal")).isFalse();
    assertThat(ranges.contains(null)).isFalse();
  }

  @Test
  void namesAndBadPrefixesAreRefused() {
    assertThatThrownBy(() -> AddressRanges.parse("proxy.internal"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> AddressRanges.parse("10.0.0.0/33"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> AddressRanges.parse("10.0.0.0/x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(AddressRanges.parse(" , ").isEmpty()).isTrue();
  }

  @Test
  void settingsNeedProxiesOnlyWhenAHeaderIsSet() throws Exception {
    var mapper = io.dropwizard.jackson.Jackson.newObjectMapper();
    assertThat(mapper.readValue("{}", TrustedHeaderSettings.class).isProxyListValid()).isTrue();
    assertThat(
            mapper
                .readValue("{\"header\":\"X-Tenant\"}", TrustedHeaderSettings.class)
                .isProxyListValid())
        .isFalse();
    assertThat(
            mapper
                .readValue(
                    "{\"header\":\"X-Tenant\",\"proxies\":\"proxy.internal\"}",
                    TrustedHeaderSettings.class)
                .isProxyListValid())
        .isFalse();
    assertThat(
            mapper
                .readValue(
                    "{\"header\":\"X-Tenant\",\"proxies\":\"10.0.0.0/8\"}",
                    TrustedHeaderSettings.class)
                .isProxyListValid())
        .isTrue();
  }
}
