package dev.batchgateway.activities.model;

/** Where each kind of object lives in the file store. Every key starts with the tenant. */
public final class StorageKeys {
  private StorageKeys() {}

  public static String file(String tenant, String fileId) {
    return tenant + "/files/" + fileId;
  }

  public static String batchRoot(String tenant, String batchId) {
    return tenant + "/batches/" + batchId + "/";
  }

  public static String chunkRoot(String tenant, String batchId, int chunk) {
    return batchRoot(tenant, batchId) + String.format("chunk-%05d/", chunk);
  }

  /** The chunk's input lines, in plan order. */
  public static String chunkInput(String tenant, String batchId, int chunk) {
    return chunkRoot(tenant, batchId, chunk) + "input.jsonl";
  }

  /**
   * The chunk's checkpoint geometry (lines per segment), fixed by its first attempt so that a
   * settings change between a crash and the restart cannot misread its segments.
   */
  public static String chunkGeometry(String tenant, String batchId, int chunk) {
    return chunkRoot(tenant, batchId, chunk) + "geometry.json";
  }

  /** A checkpoint segment: results for a fixed range of the chunk's lines. */
  public static String segment(String tenant, String batchId, int chunk, int segment) {
    return chunkRoot(tenant, batchId, chunk) + String.format("seg-%05d.jsonl", segment);
  }

  /** What a stopped chunk had finished of a segment; only written when the batch stops. */
  public static String partialSegment(String tenant, String batchId, int chunk, int segment) {
    return chunkRoot(tenant, batchId, chunk) + String.format("seg-%05d.partial.jsonl", segment);
  }

  public static boolean isPartialSegment(String key) {
    return key.endsWith(".partial.jsonl");
  }

  /** The segment number of a segment key. */
  public static int segmentNumber(String key) {
    int start = key.lastIndexOf("seg-") + 4;
    return Integer.parseInt(key.substring(start, start + 5));
  }
}
