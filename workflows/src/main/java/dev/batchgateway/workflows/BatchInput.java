package dev.batchgateway.workflows;

/**
 * What a batch workflow is started with. Everything a worker needs is here or in the metadata
 * store, so the workflow never reads configuration.
 *
 * @param parallelChunks how many chunk activities of this batch may run at once
 * @param expiresAtEpochSeconds the end of the completion window
 * @param sortByPrefix whether the plan orders lines by shared prompt prefix
 * @param resume null when the batch starts; set when a run continued as new
 */
public record BatchInput(
    String batchId,
    String tenant,
    String endpoint,
    String inputFileId,
    long expiresAtEpochSeconds,
    int priority,
    int parallelChunks,
    boolean sortByPrefix,
    BatchResume resume) {

  public BatchInput(
      String batchId,
      String tenant,
      String endpoint,
      String inputFileId,
      long expiresAtEpochSeconds,
      int priority,
      int parallelChunks,
      boolean sortByPrefix) {
    this(
        batchId,
        tenant,
        endpoint,
        inputFileId,
        expiresAtEpochSeconds,
        priority,
        parallelChunks,
        sortByPrefix,
        null);
  }

  /** The input of the next run: the priority now wanted and where this run left off. */
  public BatchInput continuedWith(int wantedPriority, BatchResume where) {
    return new BatchInput(
        batchId,
        tenant,
        endpoint,
        inputFileId,
        expiresAtEpochSeconds,
        wantedPriority,
        parallelChunks,
        sortByPrefix,
        where);
  }
}
