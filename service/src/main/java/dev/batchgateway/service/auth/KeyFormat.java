package dev.batchgateway.service.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The shape of a stored API key: {@code sk-bgw-<id>-<secret>}, where the id (12 lowercase letters
 * and digits) is public and names the database row, and the secret is 32 random bytes in base64url.
 * Only {@code HMAC-SHA256(salt, secret)} and the salt are kept. The secret is random, not chosen by
 * a person, so a slow password hash would add nothing against guessing: 256 bits cannot be searched
 * whatever the speed of the hash.
 */
public final class KeyFormat {
  static final String PREFIX = "sk-bgw-";
  private static final int ID_LENGTH = 12;
  private static final int SECRET_BYTES = 32;
  private static final int SALT_BYTES = 16;
  private static final char[] ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  private static final Pattern ID = Pattern.compile("[a-z0-9]{" + ID_LENGTH + "}");
  private static final Pattern SECRET = Pattern.compile("[A-Za-z0-9_-]{43}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private KeyFormat() {}

  /** A key as presented: its public id and its secret part. */
  public record Presented(String id, String secret) {}

  /** A key just made: the whole key (shown once) and what is stored for it. */
  public record NewKey(String id, String key, byte[] salt, byte[] secretHash) {}

  public static NewKey generate() {
    char[] id = new char[ID_LENGTH];
    for (int i = 0; i < id.length; i++) {
      id[i] = ID_ALPHABET[RANDOM.nextInt(ID_ALPHABET.length)];
    }
    byte[] secretBytes = new byte[SECRET_BYTES];
    RANDOM.nextBytes(secretBytes);
    String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
    byte[] salt = new byte[SALT_BYTES];
    RANDOM.nextBytes(salt);
    String keyId = new String(id);
    return new NewKey(keyId, PREFIX + keyId + "-" + secret, salt, hash(salt, secret));
  }

  /** The id and secret of a key of this shape; empty for anything else. */
  public static Optional<Presented> parse(String key) {
    int idEnd = PREFIX.length() + ID_LENGTH;
    if (key == null || !key.startsWith(PREFIX) || key.length() <= idEnd + 1) {
      return Optional.empty();
    }
    String id = key.substring(PREFIX.length(), idEnd);
    String secret = key.substring(idEnd + 1);
    if (key.charAt(idEnd) != '-'
        || !ID.matcher(id).matches()
        || !SECRET.matcher(secret).matches()) {
      return Optional.empty();
    }
    return Optional.of(new Presented(id, secret));
  }

  /** Whether {@code secret} hashes to {@code expected} with {@code salt}, in constant time. */
  public static boolean matches(byte[] salt, byte[] expected, String secret) {
    return MessageDigest.isEqual(expected, hash(salt, secret));
  }

  static byte[] hash(byte[] salt, String secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(salt, "HmacSHA256"));
      return mac.doFinal(secret.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
