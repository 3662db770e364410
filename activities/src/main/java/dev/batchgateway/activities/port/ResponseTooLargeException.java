package dev.batchgateway.activities.port;

import java.io.IOException;

/**
 * The inference server's answer was longer than the configured limit; the client stopped reading
 * it. Sending the request again would get the same answer, so it is not retried.
 */
public final class ResponseTooLargeException extends IOException {
  private final long limitBytes;

  public ResponseTooLargeException(long limitBytes) {
    super("The response is larger than the limit of " + limitBytes + " bytes");
    this.limitBytes = limitBytes;
  }

  public long limitBytes() {
    return limitBytes;
  }

  /** The exception among {@code error} and its causes, or null. */
  public static ResponseTooLargeException in(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof ResponseTooLargeException tooLarge) {
        return tooLarge;
      }
    }
    return null;
  }
}
