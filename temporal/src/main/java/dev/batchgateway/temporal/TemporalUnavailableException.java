package dev.batchgateway.temporal;

/** The Temporal frontend did not answer in time; nothing was asked of it. */
public final class TemporalUnavailableException extends RuntimeException {
  public TemporalUnavailableException(Throwable cause) {
    super("Temporal is not reachable: " + cause.getMessage(), cause);
  }
}
