package dev.batchgateway.service.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Where batch requests go. Either {@code pools}, each serving some models from one or more
 * endpoints, or the shorthand {@code url} + {@code models}: one pool named {@code default} with one
 * endpoint. {@code models} there lists the models it serves, comma-separated; empty means ask the
 * server's {@code /v1/models}. The timeouts and headers here are the defaults for every pool.
 */
@PoolsAreValid
public class InferenceSettings {
  static final String DEFAULT_URL = "http://127.0.0.1:8100";
  static final String DEFAULT_POOL = "default";

  /** Null when unset, so a configuration that lists pools can say the shorthand is not in use. */
  @JsonProperty private String url;

  @NotNull @JsonProperty private String models = "";
  @NotNull @JsonProperty private Duration requestTimeout = Duration.minutes(10);
  @NotNull @JsonProperty private Duration connectTimeout = Duration.seconds(10);

  /** How long a list of models read from the server is trusted. */
  @NotNull @JsonProperty private Duration modelsRefresh = Duration.seconds(30);

  @Valid @NotNull @JsonProperty private HeaderSettings headers = new HeaderSettings();

  /** Which HTTP client carries inference requests. */
  @NotNull @JsonProperty private Client client = Client.NETTY;

  /** Event loop threads of the {@code netty} client, shared by every endpoint. */
  @Min(1)
  @JsonProperty
  private int ioThreads = 2;

  @Valid @NotNull @JsonProperty private List<PoolSettings> pools = List.of();

  public String getUrl() {
    return url == null ? DEFAULT_URL : url;
  }

  public String getModels() {
    return models;
  }

  public Duration getRequestTimeout() {
    return requestTimeout;
  }

  public Duration getConnectTimeout() {
    return connectTimeout;
  }

  public Duration getModelsRefresh() {
    return modelsRefresh;
  }

  public HeaderSettings getHeaders() {
    return headers;
  }

  public Client getClient() {
    return client;
  }

  public int getIoThreads() {
    return ioThreads;
  }

  /**
   * The HTTP clients to choose from: Netty's event loop (few threads, the answer handled where it
   * is read) or the JDK's {@code java.net.http} client.
   */
  public enum Client {
    @JsonProperty("netty")
    NETTY,
    @JsonProperty("jdk")
    JDK
  }

  /** The pools in effect: those configured, or the one the shorthand describes. */
  public List<PoolSettings> effectivePools() {
    if (!pools.isEmpty()) {
      return pools;
    }
    List<String> listed =
        Arrays.stream(models.split(",")).map(String::trim).filter(m -> !m.isEmpty()).toList();
    return List.of(PoolSettings.single(DEFAULT_POOL, getUrl(), listed));
  }

  /**
   * What the capacity controller needs to know of each pool: its name and where its metrics are.
   */
  public List<PoolDefinition> pools() {
    return effectivePools().stream()
        .map(
            pool ->
                new PoolDefinition(
                    pool.getName(),
                    pool.getEndpoints().stream().map(EndpointSettings::metricsUrl).toList(),
                    pool.getEndpoints().stream()
                        .mapToInt(EndpointSettings::getMaxConcurrency)
                        .reduce(0, InferenceSettings::sumOrUnknown)))
        .toList();
  }

  /** A sum where one unknown (0) part makes the whole unknown. */
  private static int sumOrUnknown(int total, int part) {
    return total < 0 || part == 0 ? -1 : total + part;
  }

  /**
   * What is wrong with these settings, one readable sentence each; empty when nothing is. {@code
   * env} reads environment variables, so the keys named here are known to exist before the first
   * request needs them.
   */
  public List<String> problems(Function<String, String> env) {
    List<String> problems = new ArrayList<>();
    if (!pools.isEmpty() && (url != null || !models.isBlank())) {
      problems.add(
          "set either inference.url and inference.models (one pool named 'default')"
              + " or inference.pools, not both");
    }
    Set<String> names = new HashSet<>();
    Map<String, String> poolOfModel = new HashMap<>();
    for (PoolSettings pool : effectivePools()) {
      String name = pool.getName();
      if (name == null || name.isBlank()) {
        problems.add("every inference pool needs a name");
        continue;
      }
      if (!names.add(name)) {
        problems.add("two inference pools are named '" + name + "'");
      }
      for (String model : pool.getModels()) {
        String other = poolOfModel.putIfAbsent(model, name);
        if (other != null && !other.equals(name)) {
          problems.add(
              "model '"
                  + model
                  + "' is in two inference pools: '"
                  + other
                  + "' and '"
                  + name
                  + "'");
        }
      }
      pool.problems(env).forEach(problem -> problems.add("pool '" + name + "': " + problem));
    }
    return problems;
  }
}
