package dev.batchgateway.service.http;

import dev.batchgateway.activities.logging.LogContext;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The id a request goes by in responses and logs: the caller's {@code x-request-id} when it is a
 * sane token (letters, digits and {@code . _ : -}, at most 128 characters), else a new one. Odd
 * bytes or a huge value are replaced, never echoed, so the header cannot forge log lines.
 */
public final class RequestIds {
  public static final String HEADER = "x-request-id";

  /** The MDC key the log format prints. */
  public static final String MDC_KEY = LogContext.REQUEST_ID;

  private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private RequestIds() {}

  public static String accept(String incoming) {
    if (incoming != null && SANE.matcher(incoming).matches()) {
      return incoming;
    }
    return "req_" + UUID.randomUUID().toString().replace("-", "");
  }
}
