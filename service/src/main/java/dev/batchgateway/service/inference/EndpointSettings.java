package dev.batchgateway.service.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One OpenAI-compatible server of a pool. Its API key is never written here: {@code apiKeyEnv}
 * names an environment variable holding it, or {@code apiKeyFile} a file (a mounted secret). The
 * timeouts left out take the ones under {@code inference:}.
 */
public class EndpointSettings {
  @JsonProperty private String url;

  /** Where the engine's Prometheus metrics are; by default {@code /metrics} on the same server. */
  @JsonProperty private String metricsUrl;

  @JsonProperty private String apiKeyEnv;
  @JsonProperty private String apiKeyFile;
  @Valid @NotNull @JsonProperty private TlsSettings tls = new TlsSettings();
  @JsonProperty private Duration connectTimeout;
  @JsonProperty private Duration requestTimeout;

  /** The engine's max concurrent sequences (vLLM {@code --max-num-seqs}); 0 when unknown. */
  @Min(0)
  @JsonProperty
  private int maxConcurrency;

  static EndpointSettings at(String url) {
    EndpointSettings endpoint = new EndpointSettings();
    endpoint.url = url;
    return endpoint;
  }

  public String getUrl() {
    return url;
  }

  /** The server's base URL, without a trailing {@code /} or {@code /v1}. */
  public String baseUrl() {
    return normalize(url);
  }

  public String metricsUrl() {
    return metricsUrl != null ? metricsUrl : baseUrl() + "/metrics";
  }

  public TlsSettings getTls() {
    return tls;
  }

  public int getMaxConcurrency() {
    return maxConcurrency;
  }

  public Duration connectTimeoutOr(Duration fallback) {
    return connectTimeout == null ? fallback : connectTimeout;
  }

  public Duration requestTimeoutOr(Duration fallback) {
    return requestTimeout == null ? fallback : requestTimeout;
  }

  /** The API key, or null when the endpoint needs none. */
  String apiKey(Function<String, String> env) throws IOException {
    if (apiKeyEnv != null) {
      return env.apply(apiKeyEnv);
    }
    if (apiKeyFile != null) {
      return Files.readString(Path.of(apiKeyFile), StandardCharsets.UTF_8).strip();
    }
    return null;
  }

  /** Accepts a base URL with or without the trailing {@code /v1}, as OpenAI clients do. */
  static String normalize(String url) {
    String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    return base.endsWith("/v1") ? base.substring(0, base.length() - 3) : base;
  }

  List<String> problems(Function<String, String> env) {
    List<String> problems = new ArrayList<>();
    if (url == null || url.isBlank()) {
      problems.add("needs a url");
    } else if (!isHttpUrl(url)) {
      problems.add("url '" + url + "' is not an http(s) URL");
    }
    if (metricsUrl != null && !isHttpUrl(metricsUrl)) {
      problems.add("metricsUrl '" + metricsUrl + "' is not an http(s) URL");
    }
    if (apiKeyEnv != null && apiKeyFile != null) {
      problems.add("set apiKeyEnv or apiKeyFile, not both");
    } else if (apiKeyEnv != null) {
      String key = env.apply(apiKeyEnv);
      if (key == null || key.isBlank()) {
        problems.add("environment variable " + apiKeyEnv + " (apiKeyEnv) is not set");
      }
    } else if (apiKeyFile != null) {
      if (!Files.isReadable(Path.of(apiKeyFile))) {
        problems.add("apiKeyFile " + apiKeyFile + " cannot be read");
      }
    }
    problems.addAll(tls.problems(env));
    return problems;
  }

  private static boolean isHttpUrl(String text) {
    try {
      URI uri = URI.create(text);
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          && uri.getHost() != null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
