package dev.batchgateway.activities.chunk;

/**
 * The chunk saved what it had and stopped because its worker is shutting down; the lines it did not
 * finish are for another attempt, which resumes from the saved segments.
 */
public final class ChunkDrainedException extends Exception {
  public ChunkDrainedException(long linesLeft) {
    super("worker shutting down; " + linesLeft + " lines of the chunk are left for another worker");
  }
}
