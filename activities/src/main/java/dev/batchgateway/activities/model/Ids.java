package dev.batchgateway.activities.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.concurrent.ThreadLocalRandom;

/** Object ids in OpenAI's shapes: {@code file-…}, {@code batch_…}, {@code batch_req_…}. */
public final class Ids {
  private static final char[] ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int LENGTH = 24;

  private Ids() {}

  public static String newFileId() {
    return "file-" + random();
  }

  public static String newBatchId() {
    return "batch_" + random();
  }

  /**
   * A request line's id. Only unique, not unguessable: it names a line inside an output file its
   * reader already holds, and every answered line gets one, so it comes from the thread's fast
   * generator rather than the shared secure one (whose draws were 1.3% of the gateway's CPU samples
   * in the overhead bench).
   */
  public static String newRequestId() {
    return "batch_req_" + fastRandom();
  }

  /**
   * A file id derived from the batch, so that a retried finalize writes the same output file
   * instead of a second one.
   */
  public static String derivedFileId(String batchId, String role) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest((batchId + "/" + role).getBytes(StandardCharsets.UTF_8));
      StringBuilder id = new StringBuilder("file-");
      for (int i = 0; i < LENGTH; i++) {
        id.append(ALPHABET[(digest[i] & 0xff) % ALPHABET.length]);
      }
      return id.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /**
   * A request line id derived from its place in the batch, for lines the gateway writes itself
   * (unanswered requests), so that finalizing twice writes identical files.
   */
  public static String derivedRequestId(String batchId, int chunk, int index) {
    return "batch_req_" + derivedFileId(batchId, "line/" + chunk + "/" + index).substring(5);
  }

  /**
   * Bytes below this are used (modulo the alphabet, each character equally likely); the rest are
   * skipped.
   */
  private static final int UNBIASED = 256 - 256 % 62;

  /**
   * One draw of random bytes per id: every output line gets an id, and {@code nextInt} per
   * character took the shared generator's lock 24 times (a microbenchmark of 8 threads on the
   * 2-core bench machine: 6.5 µs of CPU an id, against 0.8 for one draw).
   */
  private static String random() {
    char[] id = new char[LENGTH];
    byte[] bytes = new byte[LENGTH + 8];
    int used = bytes.length;
    for (int i = 0; i < LENGTH; ) {
      if (used == bytes.length) {
        RANDOM.nextBytes(bytes);
        used = 0;
      }
      int b = bytes[used++] & 0xff;
      if (b < UNBIASED) {
        id[i++] = ALPHABET[b % ALPHABET.length];
      }
    }
    return new String(id);
  }

  /** As {@link #random}, from {@link ThreadLocalRandom}: 24 of 62 characters, each as likely. */
  private static String fastRandom() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    char[] id = new char[LENGTH];
    long bits = 0;
    int left = 0;
    for (int i = 0; i < LENGTH; ) {
      if (left == 0) {
        bits = random.nextLong();
        left = 8;
      }
      int b = (int) (bits & 0xff);
      bits >>>= 8;
      left--;
      if (b < UNBIASED) {
        id[i++] = ALPHABET[b % ALPHABET.length];
      }
    }
    return new String(id);
  }
}
