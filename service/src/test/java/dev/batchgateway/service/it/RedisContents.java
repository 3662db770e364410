package dev.batchgateway.service.it;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Every key and value in a Redis server, read over a plain socket with the RESP protocol: the
 * test's independent view of what the limiter stored, not the gateway's own client.
 */
final class RedisContents {
  private RedisContents() {}

  /**
   * Each database's keys with their type and values, one line per key, in text. {@code url} is
   * {@code redis://host:port}.
   */
  static String everything(String url) throws IOException {
    URI uri = URI.create(url);
    StringBuilder all = new StringBuilder();
    try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(10_000);
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      String keyspace = (String) call(in, out, "INFO", "keyspace");
      for (String line : keyspace.split("\r?\n")) {
        if (!line.startsWith("db")) {
          continue;
        }
        String db = line.substring(2, line.indexOf(':'));
        call(in, out, "SELECT", db);
        for (Object key : (List<?>) call(in, out, "KEYS", "*")) {
          String name = (String) key;
          String type = (String) call(in, out, "TYPE", name);
          Object value =
              switch (type) {
                case "string" -> call(in, out, "GET", name);
                case "hash" -> call(in, out, "HGETALL", name);
                case "list" -> call(in, out, "LRANGE", name, "0", "-1");
                case "set" -> call(in, out, "SMEMBERS", name);
                case "zset" -> call(in, out, "ZRANGE", name, "0", "-1", "WITHSCORES");
                case "stream" -> call(in, out, "XRANGE", name, "-", "+");
                default -> "(type " + type + ")";
              };
          all.append("db")
              .append(db)
              .append(' ')
              .append(type)
              .append(' ')
              .append(name)
              .append(" = ")
              .append(value)
              .append('\n');
        }
      }
    }
    return all.toString();
  }

  /** Runs one command, as the default user, and returns its answer. */
  static Object command(String url, String... args) throws IOException {
    URI uri = URI.create(url);
    try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(10_000);
      return call(new BufferedInputStream(socket.getInputStream()), socket.getOutputStream(), args);
    }
  }

  private static Object call(InputStream in, OutputStream out, String... args) throws IOException {
    ByteArrayOutputStream request = new ByteArrayOutputStream();
    request.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.UTF_8));
    for (String arg : args) {
      byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
      request.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.UTF_8));
      request.writeBytes(bytes);
      request.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    out.write(request.toByteArray());
    out.flush();
    Object reply = read(in);
    if (reply instanceof RedisError error) {
      throw new IOException("Redis answered " + String.join(" ", args) + ": " + error.message());
    }
    return reply;
  }

  private record RedisError(String message) {}

  private static Object read(InputStream in) throws IOException {
    int kind = in.read();
    String line = line(in);
    switch (kind) {
      case '+', ':' -> {
        return line;
      }
      case '-' -> {
        return new RedisError(line);
      }
      case '$' -> {
        int length = Integer.parseInt(line);
        if (length < 0) {
          return null;
        }
        byte[] bytes = in.readNBytes(length);
        line(in);
        // Latin-1 keeps every byte as one character, so binary values are searched as they are.
        return new String(bytes, StandardCharsets.ISO_8859_1);
      }
      case '*' -> {
        int count = Integer.parseInt(line);
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          items.add(read(in));
        }
        return items;
      }
      case -1 -> throw new EOFException("Redis closed the connection");
      default -> throw new IOException("Unexpected RESP reply type " + (char) kind);
    }
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int previous = -1;
    while (true) {
      int next = in.read();
      if (next == -1) {
        throw new EOFException("Redis closed the connection");
      }
      if (previous == '\r' && next == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
      }
      line.write(next);
      previous = next;
    }
  }
}
