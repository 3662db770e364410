package dev.batchgateway.activities.model;

import java.util.regex.Pattern;

/**
 * Text that reaches a user's error message from elsewhere: what users sent (quoted back in
 * validation messages) and what inference servers or their clients said (in error lines). Quotes
 * are cut short; backend text loses the URLs, addresses and host names that would map the
 * deployment's insides, and is cut short too.
 */
public final class ErrorText {
  /** How much of a user's value a message quotes. */
  public static final int MAX_QUOTED_CHARS = 256;

  /** How much of a backend's message or an exception's an error line keeps. */
  public static final int MAX_DETAIL_CHARS = 512;

  private static final Pattern CONTROL = Pattern.compile("[\\p{Cntrl}\\u2028\\u2029]");
  private static final Pattern URL =
      Pattern.compile("\\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\\s\"'<>]+");

  /** Eight full groups, or fewer around a {@code ::}; bracketed with a port as in a URL. */
  private static final Pattern IPV6 =
      Pattern.compile(
          "\\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*](?::\\d{1,5})?"
              + "|(?<![\\w:])(?:(?:[0-9A-Fa-f]{1,4}:){3,7}[0-9A-Fa-f]{1,4}"
              + "|(?=[:0-9A-Fa-f]*[0-9A-Fa-f])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::"
              + "(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?)(?![\\w:])");

  private static final Pattern IPV4 =
      Pattern.compile("(?<![\\w.])\\d{1,3}(?:\\.\\d{1,3}){3}(?::\\d{1,5})?(?![\\w.])");

  /**
   * A dotted lowercase name of three or more labels (vllm-0.pool.svc; not torch.cuda.OutOfMemory or
   * v1.2.3), or of two ending in a suffix that names networks rather than files
   * (inference.internal, gateway.local, example.com).
   */
  private static final Pattern HOST =
      Pattern.compile(
          "(?<![\\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.){2,}[a-z][a-z0-9-]*"
              + "(?::\\d{1,5})?(?![\\w-])"
              + "|(?<![\\w.-])(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
              + "\\.(?:local|internal|lan|corp|home|svc|cluster|localdomain|com|net|org|io|ai|dev))"
              + "(?::\\d{1,5})?(?![\\w.-])");

  /** A name with a port (localhost:8000, vllm-0:8000). */
  private static final Pattern HOST_PORT =
      Pattern.compile("(?<![\\w.-])[A-Za-z][A-Za-z0-9-]*:\\d{2,5}(?![\\w])");

  private ErrorText() {}

  /** A user's value as a message quotes it: one line, at most {@link #MAX_QUOTED_CHARS}. */
  public static String quote(String value) {
    if (value == null) {
      return "null";
    }
    String oneLine = CONTROL.matcher(cut(value, MAX_QUOTED_CHARS)).replaceAll(" ");
    return value.length() <= MAX_QUOTED_CHARS ? oneLine : oneLine + "...";
  }

  /** Backend text fit for a user: no URLs, addresses or host names, at most {@code maxChars}. */
  public static String clean(String text, int maxChars) {
    if (text == null) {
      return null;
    }
    // Cut before the patterns run, so their cost is bounded whatever the text's length; a bit
    // more than the limit is kept so a name cut in half is still recognised as one.
    String s = cut(text, maxChars + 256);
    s = CONTROL.matcher(s).replaceAll(" ");
    s = URL.matcher(s).replaceAll("<url>");
    s = IPV6.matcher(s).replaceAll("<address>");
    s = IPV4.matcher(s).replaceAll("<address>");
    s = HOST.matcher(s).replaceAll("<host>");
    s = HOST_PORT.matcher(s).replaceAll("<host>");
    s = s.strip();
    return s.length() <= maxChars && text.length() <= maxChars + 256
        ? s
        : cut(s, maxChars) + "... (cut)";
  }

  /** At most {@code max} characters, never splitting a surrogate pair. */
  private static String cut(String value, int max) {
    if (value.length() <= max) {
      return value;
    }
    int end = Character.isHighSurrogate(value.charAt(max - 1)) ? max - 1 : max;
    return value.substring(0, end);
  }
}
