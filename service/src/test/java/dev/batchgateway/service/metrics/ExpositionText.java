package dev.batchgateway.service.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of Prometheus text exposition format 0.0.4, for tests: every line must be a
 * comment, a {@code # TYPE} line or a sample; every sample must belong to the family whose {@code #
 * TYPE} came last (with the suffixes its type allows); a family is typed once. Anything else
 * throws, naming the line.
 */
public final class ExpositionText {
  /** One sample line. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  private static final Pattern TYPE =
      Pattern.compile(
          "# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
  private static final Pattern SAMPLE =
      Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)( -?\\d+)?");
  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\[\\\\\"n])*)\"(,|$)");

  /** Family name to its type, in the order the text gives them. */
  public final Map<String, String> families = new LinkedHashMap<>();

  public final List<Sample> samples = new ArrayList<>();

  private ExpositionText() {}

  public static ExpositionText parse(String text) {
    ExpositionText parsed = new ExpositionText();
    String family = null;
    String type = null;
    int number = 0;
    for (String line : text.split("\n", -1)) {
      number++;
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("# TYPE ")) {
        Matcher matcher = TYPE.matcher(line);
        if (!matcher.matches()) {
          throw new IllegalArgumentException("line " + number + ": bad TYPE: " + line);
        }
        family = matcher.group(1);
        type = matcher.group(2);
        if (parsed.families.put(family, type) != null) {
          throw new IllegalArgumentException("line " + number + ": " + family + " typed twice");
        }
        continue;
      }
      if (line.startsWith("#")) {
        continue;
      }
      Matcher matcher = SAMPLE.matcher(line);
      if (!matcher.matches()) {
        throw new IllegalArgumentException("line " + number + ": not a sample: " + line);
      }
      String name = matcher.group(1);
      if (family == null || !allowed(family, type).contains(name)) {
        throw new IllegalArgumentException(
            "line " + number + ": " + name + " outside its family (" + family + ")");
      }
      Map<String, String> labels = new LinkedHashMap<>();
      String body = matcher.group(3);
      if (body != null && !body.isEmpty()) {
        Matcher label = LABEL.matcher(body);
        int at = 0;
        while (at < body.length()) {
          if (!label.find(at) || label.start() != at) {
            throw new IllegalArgumentException("line " + number + ": bad labels: " + body);
          }
          if (labels.put(label.group(1), label.group(2)) != null) {
            throw new IllegalArgumentException("line " + number + ": label twice: " + body);
          }
          at = label.end();
        }
      }
      parsed.samples.add(new Sample(name, labels, value(matcher.group(4), number)));
    }
    return parsed;
  }

  private static Set<String> allowed(String family, String type) {
    return switch (type) {
      case "histogram" -> Set.of(family + "_bucket", family + "_sum", family + "_count");
      case "summary" -> Set.of(family, family + "_sum", family + "_count");
      default -> Set.of(family);
    };
  }

  private static double value(String text, int number) {
    return switch (text) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> {
        try {
          yield Double.parseDouble(text);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("line " + number + ": bad value " + text);
        }
      }
    };
  }

  /** The samples named {@code name} whose labels include {@code labels}. */
  public List<Sample> find(String name, Map<String, String> labels) {
    return samples.stream()
        .filter(s -> s.name().equals(name))
        .filter(s -> s.labels().entrySet().containsAll(labels.entrySet()))
        .toList();
  }

  /** The sum of the samples {@link #find} returns. */
  public double sum(String name, Map<String, String> labels) {
    return find(name, labels).stream().mapToDouble(Sample::value).sum();
  }
}
