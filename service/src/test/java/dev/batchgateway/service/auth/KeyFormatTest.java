package dev.batchgateway.service.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyFormatTest {

  @Test
  void aGeneratedKeyParsesBackToItsIdAndMatchesItsHash() {
    KeyFormat.NewKey key = KeyFormat.generate();
    assertThat(key.key()).startsWith("sk-bgw-" + key.id() + "-");
    KeyFormat.Presented presented = KeyFormat.parse(key.key()).orElseThrow();
    assertThat(presented.id()).isEqualTo(key.id());
    assertThat(KeyFormat.matches(key.salt(), key.secretHash(), presented.secret())).isTrue();
  }

  @Test
  void theHashIsNeitherTheSecretNorTheSameForTwoSaltsOfOneSecret() {
    KeyFormat.NewKey key = KeyFormat.generate();
    String secret = KeyFormat.parse(key.key()).orElseThrow().secret();
    assertThat(new String(key.secretHash(), StandardCharsets.ISO_8859_1)).doesNotContain(secret);
    byte[] otherSalt = key.salt().clone();
    otherSalt[0] ^= 1;
    assertThat(KeyFormat.hash(otherSalt, secret)).isNotEqualTo(key.secretHash());
    assertThat(KeyFormat.matches(otherSalt, key.secretHash(), secret)).isFalse();
  }

  @Test
  void aChangedSecretDoesNotMatch() {
    KeyFormat.NewKey key = KeyFormat.generate();
    String secret = KeyFormat.parse(key.key()).orElseThrow().secret();
    String changed = (secret.charAt(0) == 'A' ? "B" : "A") + secret.substring(1);
    assertThat(KeyFormat.matches(key.salt(), key.secretHash(), changed)).isFalse();
  }

  @Test
  void idsAndSecretsDiffer() {
    Set<String> ids = new HashSet<>();
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      KeyFormat.NewKey key = KeyFormat.generate();
      ids.add(key.id());
      keys.add(key.key());
    }
    assertThat(ids).hasSize(200);
    assertThat(keys).hasSize(200);
  }

  @Test
  void otherShapesAreNotParsed() {
    String good = KeyFormat.generate().key();
    assertThat(KeyFormat.parse(null)).isEmpty();
    assertThat(KeyFormat.parse("sk-local")).isEmpty();
    assertThat(KeyFormat.parse("sk-bgw-")).isEmpty();
    assertThat(KeyFormat.parse(good.substring(0, good.length() - 1))).isEmpty();
    assertThat(KeyFormat.parse(good + "x")).isEmpty();
    assertThat(KeyFormat.parse(good.replace("sk-bgw-", "sk-bgw-A"))).isEmpty();
    assertThat(KeyFormat.parse("sk-bgw-abcdefghijkl_" + good.substring(20))).isEmpty();
    assertThat(KeyFormat.parse("sk-bgw-abcdefghijkl-" + "%".repeat(43))).isEmpty();
  }
}
