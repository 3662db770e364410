package dev.batchgateway.activities.chunk;

/** A chunk stopped early because its batch was cancelled or expired; its partial work is saved. */
public class ChunkStoppedException extends Exception {
  public ChunkStoppedException() {
    super("The batch was stopped while this chunk ran");
  }
}
