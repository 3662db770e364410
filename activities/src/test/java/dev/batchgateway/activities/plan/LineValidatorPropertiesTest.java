package dev.batchgateway.activities.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.model.BatchError;
import dev.batchgateway.activities.model.ErrorText;
import dev.batchgateway.activities.store.FilesystemFileStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The fuzz suite of the JSONL validator (issue 11): generated valid lines, the same lines broken
 * one way each (wrong types, missing fields, truncation, stray bytes that are not UTF-8, nesting
 * past the limit, huge values), and files with repeated custom_ids. Whatever the input, the
 * validator answers a verdict instead of throwing, accepts exactly the lines the rules allow, and
 * quotes what the user sent only up to {@link ErrorText#MAX_QUOTED_CHARS} characters.
 *
 * <p>About 16,000 generated cases; they run in a few seconds.
 */
class LineValidatorPropertiesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final String CHAT = "/v1/chat/completions";
  private static final Set<String> MODELS = Set.of("m1", "model-two");
  private static final int MAX_DEPTH = 32;
  private static final BatchSettings.Limits LIMITS =
      new BatchSettings.Limits(256 * 1024, MAX_DEPTH, 1 << 20, 1 << 20);
  private static final LineValidator VALIDATOR =
      new LineValidator(JSON, CHAT, MODELS::contains, 16, LIMITS);

  /**
   * The longest message any verdict may carry: the fixed text of the longest message, the endpoint,
   * and two quoted values of at most {@code MAX_QUOTED_CHARS} plus an ellipsis each.
   */
  private static final int MAX_MESSAGE_CHARS =
      200 + CHAT.length() + 2 * (ErrorText.MAX_QUOTED_CHARS + 3);

  private static Path root;
  private static final AtomicLong files = new AtomicLong();

  @BeforeContainer
  static void createRoot() throws IOException {
    root = Files.createTempDirectory("line-validator-properties");
  }

  @AfterContainer
  static void deleteRoot() throws IOException {
    try (var paths = Files.walk(root)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  // --- properties -------------------------------------------------------------------------

  @Property(tries = 3000)
  void everyValidLineIsAccepted(@ForAll("validLines") ObjectNode line) throws Exception {
    LineValidator.Verdict verdict = check(bytes(line), 5);

    assertThat(verdict.error()).as("error of a valid line").isNull();
    assertThat(verdict.line().customId()).isEqualTo(line.get("custom_id").asText());
    assertThat(verdict.line().model()).isEqualTo(line.get("body").get("model").asText());
  }

  @Property(tries = 3000)
  void aLineBrokenOneWayIsRefusedWithThatError(
      @ForAll("validLines") ObjectNode line, @ForAll("mutations") Mutation mutation)
      throws Exception {
    Expected expected = mutation.apply(line);

    BatchError error = refused(check(bytes(line), 11));

    assertThat(error.code()).isEqualTo(expected.code());
    assertThat(error.param()).isEqualTo(expected.param());
    assertThat(error.line()).isEqualTo(11);
  }

  @Property(tries = 1500)
  void aTruncatedOrExtendedLineIsNotJson(
      @ForAll("validLines") ObjectNode line,
      @ForAll @IntRange(min = 0, max = 10_000) int cut,
      @ForAll boolean extend)
      throws Exception {
    byte[] whole = bytes(line);
    byte[] broken;
    if (extend) {
      byte[] tail = " {\"x\":1}".getBytes(StandardCharsets.UTF_8);
      broken = new byte[whole.length + tail.length];
      System.arraycopy(whole, 0, broken, 0, whole.length);
      System.arraycopy(tail, 0, broken, whole.length, tail.length);
    } else {
      broken = java.util.Arrays.copyOf(whole, cut % whole.length);
    }

    BatchError error = refused(check(broken, 2));

    assertThat(error.code()).isEqualTo("invalid_json_line");
  }

  /**
   * Bytes that are not UTF-8 placed in a valid line, and byte soup: never an exception, always
   * exactly one of line and error, and a line accepted only if it is UTF-8 JSON the rules allow.
   */
  @Property(tries = 4000, shrinking = ShrinkingMode.BOUNDED)
  void arbitraryBytesGetAVerdictAndOnlyValidOnesPass(@ForAll("byteLines") byte[] bytes) {
    LineValidator.Verdict[] verdict = new LineValidator.Verdict[1];
    assertThatCode(() -> verdict[0] = check(bytes, 3)).doesNotThrowAnyException();

    assertThat(verdict[0].line() == null).isNotEqualTo(verdict[0].error() == null);
    if (verdict[0].line() != null) {
      assertThat(oracleAccepts(bytes))
          .as("accepted, but not valid UTF-8 JSON by the rules: %s", show(bytes))
          .isTrue();
    } else {
      assertThat(verdict[0].error().line()).isEqualTo(3);
    }
  }

  /** The validator's UTF-8 check agrees with the JDK's strict decoder on any bytes. */
  @Property(tries = 3000)
  void utf8CheckAgreesWithTheJdkDecoder(@ForAll("utf8ish") byte[] bytes) {
    boolean jdk;
    try {
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      jdk = true;
    } catch (CharacterCodingException e) {
      jdk = false;
    }

    assertThat(Utf8.firstInvalid(bytes, 0, bytes.length) < 0).as(show(bytes)).isEqualTo(jdk);
  }

  @Property(tries = 400)
  void nestingPastTheLimitIsRefusedAndUpToItAccepted(
      @ForAll("validLines") ObjectNode line,
      @ForAll @IntRange(min = 1, max = 3 * MAX_DEPTH) int arrays)
      throws Exception {
    // The line is one level, then the arrays; or the line, its body, then the arrays.
    String nested = "[".repeat(arrays) + "]".repeat(arrays);
    String text = bytesAsText(line);
    text = text.substring(0, text.length() - 1) + ",\"extra\":" + nested + "}";
    ((ObjectNode) line.get("body")).putArray("nested");
    String inBody = bytesAsText(line).replace("\"nested\":[]", "\"nested\":" + nested);

    LineValidator.Verdict top = check(text.getBytes(StandardCharsets.UTF_8), 1);
    LineValidator.Verdict deep = check(inBody.getBytes(StandardCharsets.UTF_8), 1);

    if (1 + arrays <= MAX_DEPTH) {
      assertThat(top.error()).isNull();
    } else {
      assertThat(refused(top).code()).isEqualTo("json_too_deep");
    }
    if (2 + arrays <= MAX_DEPTH) {
      assertThat(deep.error()).isNull();
    } else {
      assertThat(refused(deep).code()).isEqualTo("json_too_deep");
    }
  }

  @Property(tries = 300)
  void aLineOverTheSizeLimitIsRefusedUnread(
      @ForAll @IntRange(min = 1, max = 100_000) int over, @ForAll byte fill) {
    byte[] bytes = new byte[LIMITS.maxLineBytes() + over];
    java.util.Arrays.fill(bytes, fill);

    BatchError error = refused(check(bytes, 9));

    assertThat(error.code()).isEqualTo("line_too_large");
    assertThat(error.message()).contains(String.valueOf(bytes.length));
  }

  /** A huge url or model is quoted cut short, on one line. */
  @Property(tries = 500)
  void aHugeValueIsQuotedOnlyInPart(
      @ForAll("validLines") ObjectNode line, @ForAll("hugeText") String huge, @ForAll boolean inUrl)
      throws Exception {
    if (inUrl) {
      line.put("url", huge);
    } else {
      ((ObjectNode) line.get("body")).put("model", huge);
    }

    BatchError error = refused(check(bytes(line), 4));

    assertThat(error.code()).isEqualTo(inUrl ? "invalid_url" : "model_not_found");
    assertThat(error.message()).doesNotContain(huge);
    String head = huge.substring(0, 64).replaceAll("[\\p{Cntrl}\\u2028\\u2029]", " ");
    assertThat(error.message()).contains(head);
  }

  /** Only the planner sees the whole file: every repeat of a custom_id is reported, no other. */
  @Property(tries = 600)
  void everyRepeatedCustomIdIsReportedOnItsLine(@ForAll("customIdLists") List<String> customIds)
      throws Exception {
    StringBuilder file = new StringBuilder();
    Set<String> seen = new HashSet<>();
    List<Integer> repeats = new ArrayList<>();
    for (int i = 0; i < customIds.size(); i++) {
      ObjectNode line = line(customIds.get(i), "m1", "hello " + i);
      file.append(JSON.writeValueAsString(line)).append('\n');
      if (!seen.add(customIds.get(i))) {
        repeats.add(i + 1);
      }
    }
    FilesystemFileStore store = new FilesystemFileStore(root);
    String key = "t1/files/file-" + files.incrementAndGet();
    store.write(
        key, new ByteArrayInputStream(file.toString().getBytes(StandardCharsets.UTF_8)), 1 << 30);
    BatchSettings settings =
        new BatchSettings(
            100,
            2,
            50_000,
            10_000,
            16,
            4,
            3,
            Duration.ofMillis(1),
            Duration.ofMillis(10),
            Duration.ofMillis(50));
    try {
      Plan plan =
          new Planner(JSON, store, settings)
              .plan("t1", "batch_1", CHAT, key, false, MODELS::contains, n -> {});

      assertThat(plan.errors())
          .allSatisfy(e -> assertThat(e.code()).isEqualTo("duplicate_custom_id"));
      assertThat(plan.errors()).allSatisfy(LineValidatorPropertiesTest::assertBoundedMessage);
      assertThat(plan.errors().stream().map(BatchError::line).toList()).isEqualTo(repeats);
      assertThat(plan.valid()).isEqualTo(repeats.isEmpty());
    } finally {
      store.delete(key);
    }
  }

  // --- generators -------------------------------------------------------------------------

  /** Short printable text, any BMP text, text with astral characters, and rarely huge text. */
  @Provide
  Arbitrary<String> text() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(24)),
        Tuple.of(
            4,
            Arbitraries.strings()
                .withCharRange('\u0000', '\uD7FF')
                .withCharRange('\uE000', '\uFFFD')
                .ofMaxLength(24)),
        Tuple.of(
            2,
            Arbitraries.strings()
                .withChars("ab~\"\\\n\u2028é")
                .ofMaxLength(24)
                .map(s -> s.replace("~", "\uD83D\uDE00"))),
        Tuple.of(1, hugeText()));
  }

  @Provide
  Arbitrary<String> hugeText() {
    return Arbitraries.strings()
        .withChars("xyz é\"\\\n\u2028~")
        .ofMinLength(1000)
        .ofMaxLength(20_000)
        .map(s -> s.replace("~", "\uD83D\uDE00"));
  }

  @Provide
  Arbitrary<ObjectNode> validLines() {
    Arbitrary<String> customId = text().filter(s -> !s.isEmpty());
    Arbitrary<String> model = Arbitraries.of(MODELS);
    Arbitrary<List<String>> contents = text().list().ofMinSize(0).ofMaxSize(4);
    Arbitrary<Integer> extras = Arbitraries.integers().between(0, 7);
    return Combinators.combine(customId, model, contents, extras)
        .as(
            (id, m, texts, extra) -> {
              ObjectNode line = line(id, m, null);
              ObjectNode body = (ObjectNode) line.get("body");
              ArrayNode messages = body.putArray("messages");
              for (String t : texts) {
                messages.addObject().put("role", "user").put("content", t);
              }
              if ((extra & 1) != 0) {
                body.put("stream", false);
                body.put("temperature", 0.5);
              }
              if ((extra & 2) != 0) {
                line.put("unknown_top_level", "ignored");
              }
              if ((extra & 4) != 0) {
                body.putObject("metadata").putArray("deep").addArray().addObject().put("k", 1);
              }
              return line;
            });
  }

  @Provide
  Arbitrary<Mutation> mutations() {
    Arbitrary<String> field = Arbitraries.of("custom_id", "method", "url", "body");
    Arbitrary<JsonNode> wrongValue =
        Arbitraries.of(
            NODES.numberNode(7),
            NODES.numberNode(-1.5),
            NODES.booleanNode(true),
            NODES.arrayNode().add("POST"),
            NODES.objectNode().put("k", "v"),
            NODES.textNode(""));
    Arbitrary<Mutation> missing = field.map(f -> new Mutation(Kind.REMOVE, f, null));
    Arbitrary<Mutation> nulled = field.map(f -> new Mutation(Kind.NULL, f, null));
    Arbitrary<Mutation> wrongType =
        Combinators.combine(field, wrongValue).as((f, v) -> new Mutation(Kind.WRONG_TYPE, f, v));
    Arbitrary<Mutation> other =
        Combinators.combine(
                Arbitraries.of(
                    Kind.METHOD,
                    Kind.URL,
                    Kind.STREAM,
                    Kind.NO_MODEL,
                    Kind.UNKNOWN_MODEL,
                    Kind.NO_MESSAGES,
                    Kind.MESSAGES_NOT_ARRAY,
                    Kind.NOT_AN_OBJECT),
                text())
            .as((k, t) -> new Mutation(k, null, NODES.textNode(t)));
    return Arbitraries.oneOf(missing, nulled, wrongType, other);
  }

  /** Valid lines with bytes replaced or inserted (often not UTF-8), and byte soup. */
  @Provide
  Arbitrary<byte[]> byteLines() {
    Arbitrary<byte[]> soup = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
    Arbitrary<List<Tuple.Tuple3<Integer, Byte, Boolean>>> edits =
        Combinators.combine(
                Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.frequencyOf(
                    Tuple.of(3, Arbitraries.bytes().between((byte) 0x80, (byte) 0xFF)),
                    Tuple.of(1, Arbitraries.bytes())),
                Arbitraries.of(true, false))
            .as((at, b, replace) -> Tuple.of(at, b, replace))
            .list()
            .ofMinSize(1)
            .ofMaxSize(4);
    Arbitrary<byte[]> edited =
        Combinators.combine(validLines(), edits)
            .as(
                (line, changes) -> {
                  byte[] b = bytes(line);
                  for (Tuple.Tuple3<Integer, Byte, Boolean> change : changes) {
                    int at = change.get1() % b.length;
                    if (change.get3()) {
                      b[at] = change.get2();
                    } else {
                      byte[] longer = new byte[b.length + 1];
                      System.arraycopy(b, 0, longer, 0, at);
                      longer[at] = change.get2();
                      System.arraycopy(b, at, longer, at + 1, b.length - at);
                      b = longer;
                    }
                  }
                  return b;
                });
    // Sequences that decoders get wrong: overlong forms, UTF-16 surrogates, past U+10FFFF.
    Arbitrary<byte[]> tricky =
        Combinators.combine(
                validLines(),
                Arbitraries.of(
                    new byte[] {(byte) 0xC0, (byte) 0xAF},
                    new byte[] {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},
                    new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                    new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
                    new byte[] {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
                    new byte[] {(byte) 0xFE},
                    new byte[] {(byte) 0xC3}))
            .as(
                (line, seq) -> {
                  // Into the custom_id string, where a decoder has to look at every byte.
                  line.put("custom_id", "id-\u0001-x");
                  byte[] b = bytes(line);
                  String text = new String(b, StandardCharsets.UTF_8);
                  int at = text.indexOf("\\u0001");
                  byte[] out = new byte[b.length - 6 + seq.length];
                  System.arraycopy(b, 0, out, 0, at);
                  System.arraycopy(seq, 0, out, at, seq.length);
                  System.arraycopy(b, at + 6, out, at + seq.length, b.length - at - 6);
                  return out;
                });
    return Arbitraries.frequencyOf(Tuple.of(2, soup), Tuple.of(5, edited), Tuple.of(2, tricky));
  }

  /** Short byte strings around the edges of UTF-8: lead bytes, continuations, text. */
  @Provide
  Arbitrary<byte[]> utf8ish() {
    Arbitrary<byte[]> pieces =
        Arbitraries.frequencyOf(
            Tuple.of(
                3,
                Arbitraries.strings()
                    .withCharRange('\u0000', '\uD7FF')
                    .withCharRange('\uE000', '\uFFFF')
                    .ofMaxLength(3)
                    .map(t -> t.replace("~", "\uD83D\uDE00").getBytes(StandardCharsets.UTF_8))),
            Tuple.of(
                4,
                Arbitraries.bytes()
                    .between((byte) 0x80, (byte) 0xFF)
                    .array(byte[].class)
                    .ofMinSize(1)
                    .ofMaxSize(4)),
            Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(4)));
    return pieces
        .list()
        .ofMaxSize(6)
        .map(
            list -> {
              java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
              list.forEach(out::writeBytes);
              return out.toByteArray();
            });
  }

  @Provide
  Arbitrary<List<String>> customIdLists() {
    // A small alphabet, so that repeats are common.
    return Arbitraries.strings()
        .withChars("ab\u00e9")
        .ofMinLength(1)
        .ofMaxLength(3)
        .list()
        .ofMinSize(1)
        .ofMaxSize(40);
  }

  // --- mutations --------------------------------------------------------------------------

  enum Kind {
    REMOVE,
    NULL,
    WRONG_TYPE,
    METHOD,
    URL,
    STREAM,
    NO_MODEL,
    UNKNOWN_MODEL,
    NO_MESSAGES,
    MESSAGES_NOT_ARRAY,
    NOT_AN_OBJECT
  }

  record Expected(String code, String param) {}

  /** One way to break a valid line, and the error that must name it. */
  record Mutation(Kind kind, String field, JsonNode value) {
    Expected apply(ObjectNode line) {
      ObjectNode body = (ObjectNode) line.get("body");
      String text = value == null ? null : value.asText();
      switch (kind) {
        case REMOVE -> {
          line.remove(field);
          return new Expected("missing_required_parameter", field);
        }
        case NULL -> {
          line.putNull(field);
          return new Expected("missing_required_parameter", field);
        }
        case WRONG_TYPE -> {
          line.set(field, value);
          return switch (field) {
            case "custom_id" -> new Expected("invalid_request", "custom_id");
            case "method" -> new Expected("invalid_method", "method");
            case "url" -> new Expected("invalid_url", "url");
            // An object is the right type: the body then lacks its model.
            default ->
                value.isObject()
                    ? new Expected("invalid_request", "body.model")
                    : new Expected("invalid_request", "body");
          };
        }
        case METHOD -> {
          line.put("method", "POST".equals(text) ? "post" : text);
          return new Expected("invalid_method", "method");
        }
        case URL -> {
          line.put("url", CHAT.equals(text) ? "/v1/embeddings" : text);
          return new Expected("invalid_url", "url");
        }
        case STREAM -> {
          body.put("stream", true);
          return new Expected("streaming_unsupported", "body.stream");
        }
        case NO_MODEL -> {
          body.remove("model");
          return new Expected("invalid_request", "body.model");
        }
        case UNKNOWN_MODEL -> {
          body.put("model", MODELS.contains(text) || text.isEmpty() ? "not-" + text : text);
          return new Expected("model_not_found", "body.model");
        }
        case NO_MESSAGES -> {
          body.remove("messages");
          return new Expected("invalid_request", "body.messages");
        }
        case MESSAGES_NOT_ARRAY -> {
          body.put("messages", text);
          return new Expected("invalid_request", "body.messages");
        }
        case NOT_AN_OBJECT -> {
          // The whole line replaced by a JSON value that is not an object.
          line.removeAll();
          line.put("__replace_with_array__", text);
          return new Expected("invalid_json_line", null);
        }
        default -> throw new IllegalStateException(kind.toString());
      }
    }
  }

  // --- helpers ----------------------------------------------------------------------------

  private static ObjectNode line(String customId, String model, String content) {
    ObjectNode line = NODES.objectNode();
    line.put("custom_id", customId);
    line.put("method", "POST");
    line.put("url", CHAT);
    ObjectNode body = line.putObject("body");
    body.put("model", model);
    if (content != null) {
      body.putArray("messages").addObject().put("role", "user").put("content", content);
    }
    return line;
  }

  private static byte[] bytes(ObjectNode line) {
    try {
      if (line.has("__replace_with_array__")) {
        return JSON.writeValueAsBytes(NODES.arrayNode().add(line.get("__replace_with_array__")));
      }
      return JSON.writeValueAsBytes(line);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String bytesAsText(ObjectNode line) {
    return new String(bytes(line), StandardCharsets.UTF_8);
  }

  /** Checks through a reused buffer longer than the line, as the planner passes lines. */
  private static LineValidator.Verdict check(byte[] line, int lineNumber) {
    byte[] buffer = new byte[line.length + 16];
    System.arraycopy(line, 0, buffer, 0, line.length);
    java.util.Arrays.fill(buffer, line.length, buffer.length, (byte) '}');
    LineValidator.Verdict verdict = VALIDATOR.check(buffer, line.length, lineNumber);
    if (verdict.error() != null) {
      assertBoundedMessage(verdict.error());
    }
    return verdict;
  }

  private static BatchError refused(LineValidator.Verdict verdict) {
    assertThat(verdict.line()).as("accepted line").isNull();
    assertThat(verdict.error()).isNotNull();
    return verdict.error();
  }

  private static void assertBoundedMessage(BatchError error) {
    assertThat(error.message()).isNotBlank();
    assertThat(error.message().length()).isLessThanOrEqualTo(MAX_MESSAGE_CHARS);
    assertThat(error.message()).doesNotContainPattern("[\\n\\r\\u2028\\u2029]");
  }

  /** What a line must be to pass, decided without the validator's parser settings. */
  private static boolean oracleAccepts(byte[] bytes) {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      return false;
    }
    JsonNode node;
    try {
      node =
          JSON.readerFor(JsonNode.class)
              .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
              .readValue(text);
    } catch (JsonProcessingException e) {
      return false;
    }
    if (node == null || !node.isObject()) {
      return false;
    }
    JsonNode body = node.path("body");
    return node.path("custom_id").isTextual()
        && !node.path("custom_id").asText().isEmpty()
        && "POST".equals(node.path("method").asText())
        && CHAT.equals(node.path("url").asText())
        && body.isObject()
        && !body.path("stream").asBoolean(false)
        && MODELS.contains(body.path("model").asText())
        && body.path("messages").isArray();
  }

  private static String show(byte[] bytes) {
    StringBuilder s = new StringBuilder();
    for (byte b : bytes) {
      s.append(b >= 0x20 && b < 0x7f ? Character.toString(b) : String.format("\\x%02x", b & 0xff));
    }
    return s.toString();
  }
}
