package dev.batchgateway.service.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A named set of OpenAI-compatible endpoints serving the same models. {@code models} lists them;
 * empty means ask the endpoints' {@code /v1/models}. {@code headers}, when given, replaces {@code
 * inference.headers} for this pool; {@code retry} overrides the {@code batches:} retry settings
 * field by field.
 */
public class PoolSettings {
  @JsonProperty private String name;
  @NotNull @JsonProperty private List<String> models = List.of();
  @Valid @NotNull @JsonProperty private List<EndpointSettings> endpoints = List.of();
  @Valid @NotNull @JsonProperty private RetrySettings retry = new RetrySettings();
  @Valid @JsonProperty private HeaderSettings headers;

  /** How long an endpoint that refused a connection gets no new requests. */
  @NotNull @JsonProperty private Duration endpointCooldown = Duration.seconds(5);

  static PoolSettings single(String name, String url, List<String> models) {
    PoolSettings pool = new PoolSettings();
    pool.name = name;
    pool.models = models;
    pool.endpoints = List.of(EndpointSettings.at(url));
    return pool;
  }

  public String getName() {
    return name;
  }

  public List<String> getModels() {
    return models;
  }

  public List<EndpointSettings> getEndpoints() {
    return endpoints;
  }

  public RetrySettings getRetry() {
    return retry;
  }

  /** This pool's headers, or {@code fallback} when it names none of its own. */
  public HeaderSettings headersOr(HeaderSettings fallback) {
    return headers == null ? fallback : headers;
  }

  public Duration getEndpointCooldown() {
    return endpointCooldown;
  }

  List<String> problems(Function<String, String> env) {
    List<String> problems = new ArrayList<>();
    if (endpoints.isEmpty()) {
      problems.add("needs at least one endpoint");
    }
    for (int i = 0; i < endpoints.size(); i++) {
      String where = "endpoint " + (i + 1);
      endpoints.get(i).problems(env).forEach(problem -> problems.add(where + ": " + problem));
    }
    if (headers != null) {
      problems.addAll(headers.problems());
    }
    return problems;
  }
}
