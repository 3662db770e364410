package dev.batchgateway.service.docs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md names every key of config/gateway.yml (as {@code `a.b.c`}) and every
 * environment variable it reads (as {@code `VAR`}), on a line that also gives the variable's
 * default as the file has it. A key or variable added to the file without a word in the reference
 * fails here.
 */
class ConfigurationDocTest {
  private static final Path CONFIG = Path.of("config/gateway.yml");
  private static final Path DOC = Path.of("../docs/configuration.md");

  /** Maps whose keys are data (window names, logger names), not settings. */
  private static final Set<String> DATA_MAPS =
      Set.of("batches.completionWindows", "logging.loggers");

  private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?}");

  /** Every `${VAR:-default}` outside comments, in file order; a variable used twice once. */
  static Map<String, String> variables(String yaml) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : yaml.split("\n")) {
      String code = line.strip().startsWith("#") ? "" : line;
      Matcher m = VARIABLE.matcher(code);
      while (m.find()) {
        String previous = out.putIfAbsent(m.group(1), m.group(2) == null ? "" : m.group(2));
        assertThat(previous == null || previous.equals(out.get(m.group(1))))
            .as("%s has one default throughout gateway.yml", m.group(1))
            .isTrue();
      }
    }
    return out;
  }

  /** Dotted paths of every mapping key, not descending into lists or data maps. */
  static List<String> keys(JsonNode node, String prefix) {
    List<String> out = new ArrayList<>();
    if (!node.isObject()) {
      return out;
    }
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      String path = prefix.isEmpty() ? name : prefix + "." + name;
      out.add(path);
      if (!DATA_MAPS.contains(path)) {
        out.addAll(keys(node.get(name), path));
      }
    }
    return out;
  }

  @Test
  void everyKeyOfGatewayYmlIsInTheReference() throws IOException {
    JsonNode config = new ObjectMapper(new YAMLFactory()).readTree(CONFIG.toFile());
    String doc = Files.readString(DOC);

    List<String> keys = keys(config, "");

    assertThat(keys).contains("server", "batches.chunkLines", "files.s3.bucket", "logging.level");
    List<String> missing = keys.stream().filter(key -> !doc.contains("`" + key + "`")).toList();
    assertThat(missing)
        .as("keys of gateway.yml that docs/configuration.md does not name")
        .isEmpty();
  }

  @Test
  void everyVariableOfGatewayYmlIsInTheReferenceWithItsDefault() throws IOException {
    Map<String, String> variables = variables(Files.readString(CONFIG));
    List<String> docLines = Files.readAllLines(DOC);

    assertThat(variables)
        .containsEntry("BGW_CHUNK_LINES", "2000")
        .containsEntry("BGW_LOG_FORMAT", "text")
        .containsEntry("BGW_MODELS", "")
        .doesNotContainKey("VAR");
    List<String> problems = new ArrayList<>();
    variables.forEach(
        (name, fallback) -> {
          List<String> lines = docLines.stream().filter(l -> l.contains("`" + name + "`")).toList();
          if (lines.isEmpty()) {
            problems.add(name + " is not named");
          } else if (!fallback.isEmpty()
              && lines.stream().noneMatch(l -> l.contains("`" + fallback + "`"))) {
            problems.add(name + " has no line with its default `" + fallback + "`");
          }
        });
    assertThat(problems).as("docs/configuration.md against gateway.yml").isEmpty();
  }
}
