package dev.batchgateway.service.metrics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metrics {@code docs/metrics.md} documents: every table row whose first cell is a backquoted
 * name. Columns: metric, type, labels (backquoted), appears ({@code always}, or when it does),
 * meaning.
 */
public final class MetricsReference {
  /** One documented metric family. */
  public record Entry(String name, String type, List<String> labels, boolean always) {}

  private static final Pattern ROW = Pattern.compile("^\\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \\|(.*)");
  private static final Pattern QUOTED = Pattern.compile("`([a-zA-Z_][a-zA-Z0-9_]*)`");

  private MetricsReference() {}

  /** The document, from the service module's directory (where Maven runs its tests). */
  public static Path document() {
    return Path.of("..", "docs", "metrics.md");
  }

  public static Map<String, Entry> read() {
    try {
      return parse(Files.readString(document()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Map<String, Entry> parse(String markdown) {
    Map<String, Entry> entries = new LinkedHashMap<>();
    for (String line : markdown.split("\n")) {
      Matcher row = ROW.matcher(line);
      if (!row.find()) {
        continue;
      }
      String[] cells = row.group(2).split("\\|");
      if (cells.length < 4) {
        throw new IllegalArgumentException("A metrics row needs five cells: " + line);
      }
      List<String> labels = new ArrayList<>();
      Matcher quoted = QUOTED.matcher(cells[1]);
      while (quoted.find()) {
        labels.add(quoted.group(1));
      }
      Entry entry =
          new Entry(row.group(1), cells[0].strip(), labels, cells[2].strip().equals("always"));
      if (entries.put(entry.name(), entry) != null) {
        throw new IllegalArgumentException(entry.name() + " is documented twice");
      }
    }
    return entries;
  }
}
