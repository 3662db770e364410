package dev.batchgateway.activities.chunk;

import java.io.IOException;

/** A checkpoint segment that is cut short or damaged: reading it again will not help. */
public final class CorruptSegmentException extends IOException {
  public CorruptSegmentException(String message, Throwable cause) {
    super(message, cause);
  }
}
