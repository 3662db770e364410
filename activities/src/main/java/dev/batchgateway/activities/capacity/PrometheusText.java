package dev.batchgateway.activities.capacity;

import java.util.HashMap;
import java.util.Map;

/**
 * Reads what the controller needs from the Prometheus text format: each series' value, summed over
 * its label sets by metric name. Histograms come out as their {@code _sum} and {@code _count}
 * series. Comments, timestamps, NaN and unparsable lines are skipped; quoted label values may hold
 * escapes, spaces and braces.
 */
public final class PrometheusText {
  private final Map<String, double[]> series;

  private PrometheusText(Map<String, double[]> series) {
    this.series = series;
  }

  public static PrometheusText parse(String text) {
    Map<String, double[]> series = new HashMap<>();
    for (String line : text.split("\n")) {
      parseLine(line.strip(), series);
    }
    return new PrometheusText(series);
  }

  /** Whether any series of {@code name} had a number. */
  public boolean has(String name) {
    return series.containsKey(name);
  }

  /** The sum over every label set of {@code name}; 0 when it is absent. */
  public double sum(String name) {
    double[] entry = series.get(name);
    return entry == null ? 0 : entry[0];
  }

  /** How many label sets of {@code name} had a number. */
  public int count(String name) {
    double[] entry = series.get(name);
    return entry == null ? 0 : (int) entry[1];
  }

  private static void parseLine(String line, Map<String, double[]> series) {
    if (line.isEmpty() || line.charAt(0) == '#') {
      return;
    }
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && !Character.isWhitespace(line.charAt(i))) {
      i++;
    }
    String name = line.substring(0, i);
    if (name.isEmpty()) {
      return;
    }
    if (i < line.length() && line.charAt(i) == '{') {
      i = skipLabels(line, i + 1);
      if (i < 0) {
        return;
      }
    }
    String rest = line.substring(i).strip();
    int space = rest.indexOf(' ');
    String number = space < 0 ? rest : rest.substring(0, space);
    double value = parseValue(number);
    if (Double.isNaN(value)) {
      return;
    }
    double[] entry = series.computeIfAbsent(name, n -> new double[2]);
    entry[0] += value;
    entry[1]++;
  }

  /** Returns the index after the closing brace, or -1 when the labels never close. */
  private static int skipLabels(String line, int from) {
    boolean quoted = false;
    for (int i = from; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quoted) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '}') {
        return i + 1;
      }
    }
    return -1;
  }

  private static double parseValue(String number) {
    switch (number) {
      case "+Inf", "Inf" -> {
        return Double.POSITIVE_INFINITY;
      }
      case "-Inf" -> {
        return Double.NEGATIVE_INFINITY;
      }
      default -> {
        try {
          return Double.parseDouble(number);
        } catch (NumberFormatException e) {
          return Double.NaN;
        }
      }
    }
  }
}
