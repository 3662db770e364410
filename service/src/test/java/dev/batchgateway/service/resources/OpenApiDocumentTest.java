package dev.batchgateway.service.resources;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.batchgateway.service.auth.Unauthenticated;
import dev.batchgateway.service.errors.ErrorResponses;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Path;
import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hand-written OpenAPI document ({@code openapi.yaml}) against the code: exactly the Jersey
 * resource methods of the service, each error answer with the type the OpenAI contract gives its
 * status, and the enumerations and limits the resources enforce.
 */
class OpenApiDocumentTest {
  private static final Set<String> HTTP_METHODS =
      Set.of("get", "put", "post", "delete", "patch", "head", "options", "trace");

  /**
   * The error type the contract (OPENAI_CONTRACT.md, "Error envelope") allows for each status; 404
   * may be either, as OpenAI itself answers invalid_request_error.
   */
  private static final Map<Integer, Set<String>> CONTRACT_TYPES =
      Map.of(
          400, Set.of("invalid_request_error"),
          401, Set.of("authentication_error"),
          403, Set.of("permission_error"),
          404, Set.of("not_found_error", "invalid_request_error"),
          409, Set.of("invalid_request_error"),
          413, Set.of("invalid_request_error"),
          429, Set.of("rate_limit_error"),
          500, Set.of("server_error"),
          503, Set.of("server_error"));

  private static JsonNode doc;
  private static Map<String, Class<?>> routes;

  @BeforeAll
  static void load() throws Exception {
    doc = new ObjectMapper(new YAMLFactory()).readTree(OpenApiResource.load());
    routes = codeRoutes();
  }

  @Test
  void theDocumentHasExactlyTheOperationsOfTheResources() {
    assertThat(routes).as("resource methods found by reflection").hasSizeGreaterThan(8);

    assertThat(new TreeSet<>(documentedOperations().keySet()))
        .isEqualTo(new TreeSet<>(routes.keySet()));
  }

  @Test
  void onlyUnauthenticatedResourcesAreDocumentedWithoutAKey() {
    assertThat(doc.at("/components/securitySchemes/apiKey/scheme").asText()).isEqualTo("bearer");
    assertThat(doc.at("/security/0").has("apiKey")).isTrue();
    documentedOperations()
        .forEach(
            (route, operation) -> {
              boolean open = routes.get(route).isAnnotationPresent(Unauthenticated.class);
              JsonNode security = operation.get("security");
              if (open) {
                assertThat(security).as(route).isNotNull();
                assertThat(security.isEmpty()).as(route + " security").isTrue();
                assertThat(responses(operation).keySet()).as(route).doesNotContain("401");
              } else {
                assertThat(security).as(route + " keeps the document's key requirement").isNull();
                assertThat(responses(operation).keySet()).as(route).contains("401");
              }
            });
  }

  @Test
  void everyErrorAnswerIsTheEnvelopeWithTheContractsTypeForItsStatus() {
    List<String> checked = new ArrayList<>();
    documentedOperations()
        .forEach(
            (route, operation) ->
                responses(operation)
                    .forEach(
                        (code, response) -> {
                          int status = Integer.parseInt(code);
                          if (status < 400) {
                            return;
                          }
                          String where = route + " " + code;
                          assertThat(CONTRACT_TYPES).as(where).containsKey(status);
                          assertThat(response.at("/headers/x-should-retry").isMissingNode())
                              .as(where + " documents x-should-retry")
                              .isFalse();
                          JsonNode envelope =
                              resolve(response.at("/content/application~1json/schema"));
                          assertThat(envelope.at("/required/0").asText()).isEqualTo("error");
                          JsonNode body = envelope.at("/properties/error/allOf");
                          JsonNode common = resolve(body.get(0));
                          assertThat(names(common.get("required")))
                              .as(where + " envelope keys")
                              .containsExactlyInAnyOrder("message", "type", "param", "code");
                          Set<String> types = names(body.get(1).at("/properties/type/enum"));
                          assertThat(types).as(where + " types").isNotEmpty();
                          assertThat(CONTRACT_TYPES.get(status)).as(where).containsAll(types);
                          assertThat(types)
                              .as(where + ": the type the gateway sends")
                              .contains(ErrorResponses.typeFor(status));
                          checked.add(where);
                        }));
    assertThat(checked).hasSizeGreaterThan(20);
  }

  @Test
  void theContractsStatusesAreDocumentedWhereTheContractNamesThem() {
    Map<String, JsonNode> ops = documentedOperations();
    assertThat(responses(ops.get("POST /v1/batches/{}/cancel")).keySet()).contains("404", "409");
    assertThat(responses(ops.get("GET /v1/files/{}")).keySet()).contains("404");
    assertThat(responses(ops.get("GET /v1/batches/{}")).keySet()).contains("404");
    assertThat(responses(ops.get("POST /v1/files")).keySet()).contains("400", "413");
    assertThat(
            ops.get("GET /v1/files/{}/content")
                .at("/responses/200/content")
                .has("application/octet-stream"))
        .isTrue();
  }

  @Test
  void enumerationsAndLimitsMatchWhatTheResourcesEnforce() {
    JsonNode schemas = doc.at("/components/schemas");
    assertThat(names(schemas.at("/UploadPurpose/enum"))).isEqualTo(FilesResource.PURPOSES);
    JsonNode create = schemas.get("CreateBatchRequest");
    assertThat(names(create.at("/properties/endpoint/enum")))
        .isEqualTo(Set.copyOf(BatchesResource.ENDPOINTS));
    assertThat(fieldNames(create.get("properties"))).isEqualTo(BatchesResource.CREATE_FIELDS);
    assertThat(create.at("/additionalProperties").asBoolean(true)).isFalse();
    assertThat(create.at("/properties/metadata/maxProperties").asInt()).isEqualTo(16);
    assertThat(create.at("/properties/metadata/additionalProperties/maxLength").asInt())
        .isEqualTo(512);
    assertThat(create.at("/properties/output_expires_after/properties/seconds/minimum").asInt())
        .isEqualTo(3600);
    assertThat(create.at("/properties/output_expires_after/properties/seconds/maximum").asInt())
        .isEqualTo(2_592_000);

    JsonNode fileLimit = parameter(documentedOperations().get("GET /v1/files"), "limit");
    assertThat(fileLimit.at("/schema/minimum").asInt()).isEqualTo(1);
    assertThat(fileLimit.at("/schema/maximum").asInt()).isEqualTo(10_000);
    assertThat(fileLimit.at("/schema/default").asInt()).isEqualTo(10_000);
    JsonNode batchLimit = parameter(documentedOperations().get("GET /v1/batches"), "limit");
    assertThat(batchLimit.at("/schema/minimum").asInt()).isEqualTo(1);
    assertThat(batchLimit.at("/schema/maximum").asInt()).isEqualTo(100);
    assertThat(batchLimit.at("/schema/default").asInt()).isEqualTo(20);
  }

  @Test
  void everyReferenceResolves() {
    List<String> refs = new ArrayList<>();
    collectRefs(doc, refs);
    assertThat(refs).isNotEmpty();
    for (String ref : refs) {
      assertThat(doc.at(ref.substring(1)).isMissingNode()).as(ref).isFalse();
    }
  }

  // --- the code's routes --------------------------------------------------------------------

  /** "METHOD /path/{}" of every resource method of the service's classes, to its class. */
  private static Map<String, Class<?>> codeRoutes() throws IOException, URISyntaxException {
    java.nio.file.Path classes =
        java.nio.file.Path.of(
            BatchesResource.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    java.nio.file.Path root = classes.resolve("dev/batchgateway/service");
    Map<String, Class<?>> found = new TreeMap<>();
    try (Stream<java.nio.file.Path> files = Files.walk(root)) {
      for (java.nio.file.Path file : files.filter(p -> p.toString().endsWith(".class")).toList()) {
        String name =
            classes.relativize(file).toString().replace('/', '.').replaceAll("\\.class$", "");
        Class<?> type;
        try {
          type = Class.forName(name, false, OpenApiDocumentTest.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
          continue;
        }
        Path base = type.getAnnotation(Path.class);
        if (base == null || Modifier.isAbstract(type.getModifiers())) {
          continue;
        }
        for (Method method : type.getMethods()) {
          String verb = httpMethod(method);
          Path sub = method.getAnnotation(Path.class);
          if (verb == null) {
            assertThat(sub).as("sub-resource locator " + method + " is not documented").isNull();
            continue;
          }
          String path = base.value() + (sub == null ? "" : "/" + sub.value());
          Class<?> previous = found.put(verb + " " + normalize(path), type);
          assertThat(previous).as("route declared twice: " + verb + " " + path).isNull();
        }
      }
    }
    return found;
  }

  private static String httpMethod(Method method) {
    for (Annotation annotation : method.getAnnotations()) {
      HttpMethod verb = annotation.annotationType().getAnnotation(HttpMethod.class);
      if (verb != null) {
        return verb.value().toUpperCase(Locale.ROOT);
      }
    }
    return null;
  }

  /** One slash between segments, none at the end, and parameters unnamed. */
  private static String normalize(String path) {
    String p = ("/" + path).replaceAll("/+", "/").replaceAll("\\{[^}]*}", "{}");
    return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  // --- the document -----------------------------------------------------------------------

  private static Map<String, JsonNode> documentedOperations() {
    Map<String, JsonNode> ops = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields();
        paths.hasNext(); ) {
      Map.Entry<String, JsonNode> path = paths.next();
      for (Iterator<Map.Entry<String, JsonNode>> items = path.getValue().fields();
          items.hasNext(); ) {
        Map.Entry<String, JsonNode> item = items.next();
        if (HTTP_METHODS.contains(item.getKey())) {
          JsonNode previous =
              ops.put(
                  item.getKey().toUpperCase(Locale.ROOT) + " " + normalize(path.getKey()),
                  item.getValue());
          assertThat(previous).isNull();
        }
      }
    }
    return ops;
  }

  private static Map<String, JsonNode> responses(JsonNode operation) {
    Map<String, JsonNode> out = new TreeMap<>();
    operation
        .get("responses")
        .fields()
        .forEachRemaining(e -> out.put(e.getKey(), resolve(e.getValue())));
    return out;
  }

  private static JsonNode parameter(JsonNode operation, String name) {
    for (JsonNode p : operation.get("parameters")) {
      JsonNode resolved = resolve(p);
      if (name.equals(resolved.path("name").asText())) {
        return resolved;
      }
    }
    throw new AssertionError("no parameter " + name);
  }

  private static JsonNode resolve(JsonNode node) {
    JsonNode ref = node.get("$ref");
    if (ref == null) {
      return node;
    }
    JsonNode target = doc.at(ref.asText().substring(1));
    assertThat(target.isMissingNode()).as(ref.asText()).isFalse();
    return resolve(target);
  }

  private static void collectRefs(JsonNode node, List<String> refs) {
    if (node.isObject()) {
      node.fields()
          .forEachRemaining(
              e -> {
                if (e.getKey().equals("$ref")) {
                  refs.add(e.getValue().asText());
                } else {
                  collectRefs(e.getValue(), refs);
                }
              });
    } else if (node.isArray()) {
      node.forEach(child -> collectRefs(child, refs));
    }
  }

  private static Set<String> names(JsonNode array) {
    Set<String> out = new HashSet<>();
    if (array != null) {
      array.forEach(n -> out.add(n.asText()));
    }
    return out;
  }

  private static Set<String> fieldNames(JsonNode object) {
    Set<String> out = new HashSet<>();
    object.fieldNames().forEachRemaining(out::add);
    return out;
  }
}
