package dev.batchgateway.activities;

import java.time.Duration;

/**
 * Tunables of batch execution, set once per worker from configuration.
 *
 * @param chunkLines lines per chunk activity
 * @param segmentLines lines per checkpoint segment; bounds the work redone after a crash
 * @param maxRequests most lines a batch may hold
 * @param maxReportedErrors validation errors listed on a failed batch before the rest are counted
 * @param completionPrefixChars characters of a completions prompt that form its prefix key
 * @param chunkConcurrency requests one chunk keeps in flight
 * @param maxAttempts tries per request, counting the first
 * @param initialBackoff first retry delay; doubles up to {@code maxBackoff}, with jitter
 * @param permitWait how long a request waits for a pool permit before checking for a stop again
 * @param limits the sizes that bound a worker's memory
 * @param spreadChunks a batch too small to fill this many chunks of {@code chunkLines} is cut into
 *     this many smaller ones (of at least {@value #MIN_SPREAD_LINES} lines), so that it still runs
 *     on as many chunks at once as a worker allows; 1 never cuts smaller
 */
public record BatchSettings(
    int chunkLines,
    int segmentLines,
    int maxRequests,
    int maxReportedErrors,
    int completionPrefixChars,
    int chunkConcurrency,
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    Duration permitWait,
    Limits limits,
    int spreadChunks) {

  /** The fewest lines a chunk is cut to when a small batch is spread over several. */
  public static final int MIN_SPREAD_LINES = 100;

  public BatchSettings {
    if (spreadChunks < 1) {
      throw new IllegalArgumentException("spreadChunks must be at least 1");
    }
  }

  /** Lines per chunk for a batch of {@code requests} lines. */
  public int chunkLinesFor(int requests) {
    int spread = (requests + spreadChunks - 1) / spreadChunks;
    return Math.min(chunkLines, Math.max(MIN_SPREAD_LINES, spread));
  }

  /**
   * Sizes that bound memory whatever the input: no line, JSON document, chunk or answer is held
   * beyond them (docs/architecture.md, "Memory", gives a worker's heap in their terms).
   *
   * @param maxLineBytes longest input line, in bytes; a longer one fails validation
   * @param maxJsonDepth deepest nesting of arrays and objects in an input line
   * @param chunkBytes most input bytes in one chunk (a chunk also holds at most {@code chunkLines})
   * @param maxResponseBytes longest answer read from an inference server; a longer one ends its
   *     line with {@code response_too_large}
   */
  public record Limits(int maxLineBytes, int maxJsonDepth, long chunkBytes, int maxResponseBytes) {
    public static Limits defaults() {
      return new Limits(2 * 1024 * 1024, 128, 16L * 1024 * 1024, 16 * 1024 * 1024);
    }
  }

  public BatchSettings(
      int chunkLines,
      int segmentLines,
      int maxRequests,
      int maxReportedErrors,
      int completionPrefixChars,
      int chunkConcurrency,
      int maxAttempts,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration permitWait) {
    this(
        chunkLines,
        segmentLines,
        maxRequests,
        maxReportedErrors,
        completionPrefixChars,
        chunkConcurrency,
        maxAttempts,
        initialBackoff,
        maxBackoff,
        permitWait,
        Limits.defaults(),
        1);
  }

  public BatchSettings withLimits(Limits limits) {
    return new BatchSettings(
        chunkLines,
        segmentLines,
        maxRequests,
        maxReportedErrors,
        completionPrefixChars,
        chunkConcurrency,
        maxAttempts,
        initialBackoff,
        maxBackoff,
        permitWait,
        limits,
        spreadChunks);
  }

  public BatchSettings withSpreadChunks(int spreadChunks) {
    return new BatchSettings(
        chunkLines,
        segmentLines,
        maxRequests,
        maxReportedErrors,
        completionPrefixChars,
        chunkConcurrency,
        maxAttempts,
        initialBackoff,
        maxBackoff,
        permitWait,
        limits,
        spreadChunks);
  }

  public static BatchSettings defaults() {
    return new BatchSettings(
        2000,
        50,
        50_000,
        1000,
        256,
        32,
        5,
        Duration.ofMillis(500),
        Duration.ofSeconds(30),
        Duration.ofSeconds(1));
  }
}
