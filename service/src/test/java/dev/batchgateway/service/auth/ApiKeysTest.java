package dev.batchgateway.service.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ApiKeysTest {

  @Test
  void pairsMapKeysToTenants() {
    ApiKeys keys = ApiKeys.parse("sk-a:tenant-a, sk-b:tenant-b");
    assertThat(keys.tenantFor("sk-a")).contains("tenant-a");
    assertThat(keys.tenantFor("sk-b")).contains("tenant-b");
    assertThat(keys.tenantFor("sk-c")).isEmpty();
  }

  @Test
  void emptyMeansNoFixedKeyAndNoDefaultTenant() {
    ApiKeys keys = ApiKeys.parse("");
    assertThat(keys.tenantFor("")).isEmpty();
    assertThat(keys.tenantFor("sk-local")).isEmpty();
  }

  @Test
  void aMalformedPairIsRefusedWithoutQuotingTheKey() {
    assertThatThrownBy(() -> ApiKeys.parse("sk-secret-value-1234"))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .doesNotContain("sk-secret");
    assertThatThrownBy(() -> ApiKeys.parse("sk-a:bad tenant"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
