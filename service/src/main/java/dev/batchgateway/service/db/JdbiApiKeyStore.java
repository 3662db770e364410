package dev.batchgateway.service.db;

import dev.batchgateway.service.auth.StoredKey;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.StatementContext;

/** The rows of {@code api_keys}: salts and hashes, never a secret. */
public final class JdbiApiKeyStore {
  private static final String COLUMNS = "id, tenant, salt, secret_hash, created_at, revoked_at";

  private final Jdbi jdbi;

  public JdbiApiKeyStore(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  public void insert(StoredKey key) {
    jdbi.useHandle(
        handle ->
            handle
                .createUpdate(
                    "INSERT INTO api_keys (id, tenant, salt, secret_hash, created_at)"
                        + " VALUES (:id, :tenant, :salt, :hash, :createdAt)")
                .bind("id", key.id())
                .bind("tenant", key.tenant())
                .bind("salt", key.salt())
                .bind("hash", key.secretHash())
                .bind("createdAt", key.createdAt())
                .execute());
  }

  public Optional<StoredKey> find(String id) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery("SELECT " + COLUMNS + " FROM api_keys WHERE id = :id")
                .bind("id", id)
                .map(JdbiApiKeyStore::row)
                .findOne());
  }

  /** Every key, or one tenant's when {@code tenant} is not null, oldest first. */
  public List<StoredKey> list(String tenant) {
    return jdbi.withHandle(
        handle ->
            handle
                .createQuery(
                    "SELECT "
                        + COLUMNS
                        + " FROM api_keys WHERE CAST(:tenant AS TEXT) IS NULL OR tenant = :tenant"
                        + " ORDER BY created_at, id")
                .bind("tenant", tenant)
                .map(JdbiApiKeyStore::row)
                .list());
  }

  /** Marks the key revoked; false when there is no such key or it was revoked already. */
  public boolean revoke(String id, long now) {
    return jdbi.withHandle(
            handle ->
                handle
                    .createUpdate(
                        "UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL")
                    .bind("id", id)
                    .bind("now", now)
                    .execute())
        == 1;
  }

  private static StoredKey row(ResultSet rs, StatementContext ctx) throws SQLException {
    long revokedAt = rs.getLong("revoked_at");
    // Read at once: wasNull speaks of the last column read.
    Long revoked = rs.wasNull() ? null : revokedAt;
    return new StoredKey(
        rs.getString("id"),
        rs.getString("tenant"),
        rs.getBytes("salt"),
        rs.getBytes("secret_hash"),
        rs.getLong("created_at"),
        revoked);
  }
}
