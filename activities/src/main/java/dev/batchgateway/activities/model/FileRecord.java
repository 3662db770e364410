package dev.batchgateway.activities.model;

/**
 * A stored file as the metadata store keeps it.
 *
 * @param storageKey where the bytes live in the file store
 * @param expiresAt unix seconds, or null for never
 */
public record FileRecord(
    String id,
    String tenant,
    String filename,
    String purpose,
    long bytes,
    long createdAt,
    Long expiresAt,
    String status,
    String storageKey) {

  public static final String PURPOSE_BATCH = "batch";
  public static final String PURPOSE_BATCH_OUTPUT = "batch_output";
  public static final String STATUS_PROCESSED = "processed";
}
