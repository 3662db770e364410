package dev.batchgateway.service.auth;

/**
 * A key's row: never the secret, only its salt and hash. Times are epoch seconds; {@code revokedAt}
 * is null while the key is valid.
 */
public record StoredKey(
    String id, String tenant, byte[] salt, byte[] secretHash, long createdAt, Long revokedAt) {

  public boolean revoked() {
    return revokedAt != null;
  }
}
