package dev.batchgateway.activities.port;

import java.io.IOException;

/** A stream grew past the size its caller allowed. */
public class SizeLimitExceededException extends IOException {
  private final long limit;

  public SizeLimitExceededException(long limit) {
    super("The stream is larger than the limit of " + limit + " bytes");
    this.limit = limit;
  }

  public long limit() {
    return limit;
  }
}
