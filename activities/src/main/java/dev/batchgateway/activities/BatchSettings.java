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
    Duration permitWait) {

  public static BatchSettings defaults() {
    return new BatchSettings(
        500,
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
