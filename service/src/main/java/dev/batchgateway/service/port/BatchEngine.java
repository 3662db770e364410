package dev.batchgateway.service.port;

import dev.batchgateway.workflows.BatchInput;

/**
 * What the API asks of the engine that runs batches: start one, tell whether it runs, and signal
 * cancel and priority changes. The workflow itself records what follows.
 */
public interface BatchEngine {

  /** The engine did not answer; nothing was asked of it. */
  final class UnavailableException extends RuntimeException {
    public UnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Returns at once when the engine answered lately, and throws {@link UnavailableException}
   * otherwise, so that a change fails fast instead of waiting out the client's retries.
   */
  void requireReachable();

  /**
   * Starts the batch's run. Returns normally when an earlier try of the same start already reached
   * the engine and the run exists.
   */
  void start(BatchInput input);

  /**
   * Whether the engine knows a run of this batch (running or closed); throws when it cannot tell.
   */
  boolean exists(String batchId);

  /** Returns false when the run no longer runs (it already finished). */
  boolean cancel(String batchId, String reason);

  /** Returns false when the run no longer runs. */
  boolean reprioritize(String batchId, int priority);
}
