package dev.batchgateway.service.auth;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Checks keys made with {@code keys create} against their rows. A row is read again once it is
 * older than the cache's time to live, so a key revoked in the database is refused by every process
 * within that time; unknown ids are remembered as long, so guessed keys do not each cost a query.
 */
public final class StoredKeys implements TenantLookup {
  /** Well under the 5 seconds within which a revoked key must be refused everywhere. */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(2);

  /** A bound on memory that random ids cannot push past; the cache starts over beyond it. */
  private static final int MAX_ENTRIES = 10_000;

  private record Entry(Optional<StoredKey> row, long readAtNanos) {}

  private final Function<String, Optional<StoredKey>> rows;
  private final long ttlNanos;
  private final LongSupplier nanoTime;
  private final Map<String, Entry> cache = new ConcurrentHashMap<>();

  public StoredKeys(
      Function<String, Optional<StoredKey>> rows, Duration ttl, LongSupplier nanoTime) {
    this.rows = rows;
    this.ttlNanos = ttl.toNanos();
    this.nanoTime = nanoTime;
  }

  public StoredKeys(Function<String, Optional<StoredKey>> rows) {
    this(rows, DEFAULT_TTL, System::nanoTime);
  }

  @Override
  public Optional<String> tenantFor(String presentedKey) {
    Optional<KeyFormat.Presented> presented = KeyFormat.parse(presentedKey);
    if (presented.isEmpty()) {
      return Optional.empty();
    }
    String secret = presented.get().secret();
    return row(presented.get().id())
        .filter(key -> !key.revoked())
        .filter(key -> KeyFormat.matches(key.salt(), key.secretHash(), secret))
        .map(StoredKey::tenant);
  }

  private Optional<StoredKey> row(String id) {
    long now = nanoTime.getAsLong();
    Entry entry = cache.get(id);
    if (entry != null && now - entry.readAtNanos() < ttlNanos) {
      return entry.row();
    }
    Optional<StoredKey> row = rows.apply(id);
    if (cache.size() >= MAX_ENTRIES) {
      cache.clear();
    }
    cache.put(id, new Entry(row, now));
    return row;
  }
}
