package dev.batchgateway.service.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class StoredKeysTest {
  private final Map<String, StoredKey> rows = new HashMap<>();
  private final AtomicInteger reads = new AtomicInteger();
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final StoredKeys keys =
      new StoredKeys(
          id -> {
            reads.incrementAndGet();
            return Optional.ofNullable(rows.get(id));
          },
          Duration.ofSeconds(2),
          nanos::get);

  private KeyFormat.NewKey add(String tenant) {
    KeyFormat.NewKey key = KeyFormat.generate();
    rows.put(key.id(), new StoredKey(key.id(), tenant, key.salt(), key.secretHash(), 1, null));
    return key;
  }

  private void advance(Duration by) {
    nanos.addAndGet(by.toNanos());
  }

  @Test
  void aValidKeyNamesItsTenantAndIsReadOncePerTtl() {
    KeyFormat.NewKey key = add("team-a");
    assertThat(keys.tenantFor(key.key())).contains("team-a");
    assertThat(keys.tenantFor(key.key())).contains("team-a");
    assertThat(reads).hasValue(1);
    advance(Duration.ofMillis(2001));
    assertThat(keys.tenantFor(key.key())).contains("team-a");
    assertThat(reads).hasValue(2);
  }

  @Test
  void aRevokedKeyIsRefusedOnceTheCachedRowExpires() {
    KeyFormat.NewKey key = add("team-a");
    assertThat(keys.tenantFor(key.key())).contains("team-a");
    StoredKey row = rows.get(key.id());
    rows.put(key.id(), new StoredKey(row.id(), row.tenant(), row.salt(), row.secretHash(), 1, 2L));
    advance(Duration.ofMillis(1999));
    assertThat(keys.tenantFor(key.key())).contains("team-a");
    advance(Duration.ofMillis(2));
    assertThat(keys.tenantFor(key.key())).isEmpty();
  }

  @Test
  void aWrongSecretForAKnownIdIsRefused() {
    KeyFormat.NewKey key = add("team-a");
    KeyFormat.NewKey other = KeyFormat.generate();
    String forged = key.key().substring(0, 20) + other.key().substring(20);
    assertThat(keys.tenantFor(forged)).isEmpty();
  }

  @Test
  void unknownIdsAreRememberedAndOtherShapesNeverQueried() {
    KeyFormat.NewKey unknown = KeyFormat.generate();
    assertThat(keys.tenantFor(unknown.key())).isEmpty();
    assertThat(keys.tenantFor(unknown.key())).isEmpty();
    assertThat(reads).hasValue(1);
    assertThat(keys.tenantFor("sk-local")).isEmpty();
    assertThat(keys.tenantFor("")).isEmpty();
    assertThat(reads).hasValue(1);
  }

  @Test
  void fixedKeysComeFirstThenStoredOnes() {
    KeyFormat.NewKey key = add("team-b");
    TenantLookup both = ApiKeys.parse("sk-fixed:team-a").orElse(keys);
    assertThat(both.tenantFor("sk-fixed")).contains("team-a");
    assertThat(both.tenantFor(key.key())).contains("team-b");
    assertThat(both.tenantFor("sk-other")).isEmpty();
  }
}
