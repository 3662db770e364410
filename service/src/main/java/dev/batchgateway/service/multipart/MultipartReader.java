package dev.batchgateway.service.multipart;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Reads a {@code multipart/form-data} body part by part, straight from the request stream. Each
 * part's body is a stream that ends at the next boundary, so a file part of any size passes through
 * a fixed buffer and is never held whole.
 */
public final class MultipartReader {
  private static final int BUFFER = 64 * 1024;
  private static final int MAX_HEADER_BYTES = 16 * 1024;

  /** One part; its body is only readable until {@link #next()} is called again. */
  public record Part(String name, String filename, String contentType, InputStream body) {}

  private final InputStream in;
  private final byte[] delimiter;
  private final byte[] buf;
  private int pos;
  private int end;
  private boolean eof;
  private PartStream current;
  private boolean finished;

  public MultipartReader(InputStream in, String boundary) {
    this.in = in;
    // The body starts with "--boundary"; pretending a CRLF came before it makes every delimiter
    // the same "\r\n--boundary".
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    this.buf = new byte[BUFFER + delimiter.length];
    buf[0] = '\r';
    buf[1] = '\n';
    end = 2;
  }

  /** The boundary parameter of a {@code multipart/form-data} content type, or null. */
  public static String boundaryOf(String contentType) {
    if (contentType == null
        || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
      return null;
    }
    for (String param : contentType.split(";")) {
      String trimmed = param.trim();
      if (trimmed.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
        String value = trimmed.substring(9).trim();
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
          value = value.substring(1, value.length() - 1);
        }
        return value.isEmpty() || value.length() > 200 ? null : value;
      }
    }
    return null;
  }

  /** Moves to the next part, skipping what is left of the current one; null after the last. */
  public Part next() throws IOException {
    if (finished) {
      return null;
    }
    if (current == null) {
      // Skip any preamble up to the first delimiter.
      new PartStream().transferTo(OutputStreamSink.INSTANCE);
    } else {
      current.transferTo(OutputStreamSink.INSTANCE);
    }
    int a = readByte();
    int b = readByte();
    if (a == '-' && b == '-') {
      finished = true;
      return null;
    }
    if (a != '\r' || b != '\n') {
      throw new MalformedMultipartException("Malformed multipart body: bad boundary line");
    }
    String name = null;
    String filename = null;
    String contentType = null;
    int headerBytes = 0;
    while (true) {
      String line = readHeaderLine();
      headerBytes += line.length() + 2;
      if (headerBytes > MAX_HEADER_BYTES) {
        throw new MalformedMultipartException("Multipart part headers are too large");
      }
      if (line.isEmpty()) {
        break;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      String header = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      if (header.equals("content-disposition")) {
        name = parameter(value, "name");
        filename = parameter(value, "filename");
      } else if (header.equals("content-type")) {
        contentType = value;
      }
    }
    current = new PartStream();
    return new Part(name, filename, contentType, current);
  }

  /** A parameter of a Content-Disposition value, unquoted; null when absent. */
  static String parameter(String disposition, String wanted) {
    int i = disposition.indexOf(';');
    while (i >= 0 && i < disposition.length()) {
      int start = i + 1;
      while (start < disposition.length() && disposition.charAt(start) == ' ') {
        start++;
      }
      int eq = disposition.indexOf('=', start);
      if (eq < 0) {
        return null;
      }
      String key = disposition.substring(start, eq).trim().toLowerCase(Locale.ROOT);
      int valueStart = eq + 1;
      String value;
      int next;
      if (valueStart < disposition.length() && disposition.charAt(valueStart) == '"') {
        StringBuilder quoted = new StringBuilder();
        int j = valueStart + 1;
        while (j < disposition.length() && disposition.charAt(j) != '"') {
          char c = disposition.charAt(j);
          if (c == '\\' && j + 1 < disposition.length()) {
            j++;
            c = disposition.charAt(j);
          }
          quoted.append(c);
          j++;
        }
        value = quoted.toString();
        next = disposition.indexOf(';', j);
      } else {
        next = disposition.indexOf(';', valueStart);
        value = disposition.substring(valueStart, next < 0 ? disposition.length() : next).trim();
      }
      if (key.equals(wanted)) {
        // Browsers and HTTP clients send raw UTF-8 bytes in quoted names; headers were read as
        // ISO-8859-1, so decode them back.
        return new String(value.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
      }
      i = next;
    }
    return null;
  }

  private String readHeaderLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(128);
    while (true) {
      int c = readByte();
      if (c == '\r') {
        int n = readByte();
        if (n == '\n') {
          return line.toString(StandardCharsets.ISO_8859_1);
        }
        line.write(c);
        line.write(n);
      } else {
        line.write(c);
      }
      if (line.size() > MAX_HEADER_BYTES) {
        throw new MalformedMultipartException("Multipart part headers are too large");
      }
    }
  }

  private int readByte() throws IOException {
    if (pos == end && !fill()) {
      throw new MalformedMultipartException("The multipart body ended early");
    }
    return buf[pos++] & 0xff;
  }

  /** Moves unread bytes to the front and reads more; false when nothing more arrives. */
  private boolean fill() throws IOException {
    if (eof) {
      return false;
    }
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, end - pos);
      end -= pos;
      pos = 0;
    }
    int n = in.read(buf, end, buf.length - end);
    if (n < 0) {
      eof = true;
      return false;
    }
    end += n;
    return true;
  }

  private int indexOfDelimiter() {
    int last = end - delimiter.length;
    outer:
    for (int i = pos; i <= last; i++) {
      for (int j = 0; j < delimiter.length; j++) {
        if (buf[i + j] != delimiter[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** The bytes of one part, up to the next delimiter, which it consumes. */
  private final class PartStream extends InputStream {
    private boolean done;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] target, int off, int len) throws IOException {
      if (done) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      while (true) {
        int found = indexOfDelimiter();
        int available;
        if (found >= 0) {
          available = found - pos;
          if (available == 0) {
            pos += delimiter.length;
            done = true;
            return -1;
          }
        } else {
          // Bytes that might begin a delimiter stay in the buffer until more arrive.
          available = end - pos - (delimiter.length - 1);
        }
        if (available > 0) {
          int n = Math.min(len, available);
          System.arraycopy(buf, pos, target, off, n);
          pos += n;
          return n;
        }
        if (!fill()) {
          throw new MalformedMultipartException("The multipart body ended before its boundary");
        }
      }
    }
  }

  /** Discards what is written to it. */
  private static final class OutputStreamSink extends java.io.OutputStream {
    static final OutputStreamSink INSTANCE = new OutputStreamSink();

    @Override
    public void write(int b) {}

    @Override
    public void write(byte[] b, int off, int len) {}
  }
}
