package dev.batchgateway.service.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RequestIdsTest {

  @Test
  void aSaneIncomingIdIsKept() {
    assertThat(RequestIds.accept("abc-123_X.y:z")).isEqualTo("abc-123_X.y:z");
    assertThat(RequestIds.accept("a".repeat(128))).isEqualTo("a".repeat(128));
  }

  @Test
  void anythingElseIsReplacedByANewId() {
    for (String odd :
        new String[] {null, "", "a b", "a\nINFO forged line", "a".repeat(129), "é", "a;b"}) {
      String id = RequestIds.accept(odd);
      assertThat(id).matches("req_[0-9a-f]{32}").isNotEqualTo(odd);
    }
    assertThat(RequestIds.accept(null)).isNotEqualTo(RequestIds.accept(null));
  }
}
