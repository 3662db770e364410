package dev.batchgateway.activities.port;

/**
 * How far a whole batch has got, as its metadata row says: enough to tell whether it will finish
 * inside its completion window at the rate it has kept so far.
 *
 * @param totalRequests lines of the batch; 0 while unknown
 * @param doneRequests lines answered or failed for good, over every chunk
 * @param startedAtEpochSeconds when the batch went {@code in_progress}; 0 while unknown
 */
public record BatchPace(long totalRequests, long doneRequests, long startedAtEpochSeconds) {
  public static final BatchPace UNKNOWN = new BatchPace(0, 0, 0);

  public boolean known() {
    return totalRequests > 0 && startedAtEpochSeconds > 0;
  }

  public long remainingRequests() {
    return Math.max(0, totalRequests - doneRequests);
  }
}
