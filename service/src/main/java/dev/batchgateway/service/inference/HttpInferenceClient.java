package dev.batchgateway.service.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.port.InferenceClient;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks to one OpenAI-compatible server (vLLM, llm-d, the simulator) over pooled HTTP/1.1
 * connections. The models it serves come from configuration or from its {@code /v1/models}.
 */
public final class HttpInferenceClient implements InferenceClient {
  private static final Logger log = LoggerFactory.getLogger(HttpInferenceClient.class);
  static final String POOL = "default";

  private final HttpClient http;
  private final String baseUrl;
  private final Duration requestTimeout;
  private final ObjectMapper json;
  private final Set<String> configuredModels;
  private final long refreshMillis;
  private volatile Set<String> discoveredModels;
  private volatile long discoveredAtMillis;

  public HttpInferenceClient(InferenceSettings settings, ObjectMapper json) {
    this.json = json;
    this.baseUrl = normalize(settings.getUrl());
    this.requestTimeout = Duration.ofMillis(settings.getRequestTimeout().toMilliseconds());
    this.refreshMillis = settings.getModelsRefresh().toMilliseconds();
    this.configuredModels =
        Arrays.stream(settings.getModels().split(","))
            .map(String::trim)
            .filter(model -> !model.isEmpty())
            .collect(Collectors.toUnmodifiableSet());
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(settings.getConnectTimeout().toMilliseconds()))
            .build();
  }

  /** Accepts a base URL with or without the trailing {@code /v1}, as OpenAI clients do. */
  static String normalize(String url) {
    String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    return base.endsWith("/v1") ? base.substring(0, base.length() - 3) : base;
  }

  @Override
  public CompletableFuture<InferenceResponse> send(InferenceRequest request) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(baseUrl + request.path()))
            .timeout(requestTimeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(request.body()));
    for (Map.Entry<String, String> header : request.headers().entrySet()) {
      builder.header(header.getKey(), header.getValue());
    }
    return http.sendAsync(builder.build(), HttpResponse.BodyHandlers.ofByteArray())
        .thenApply(
            response ->
                new InferenceResponse(
                    response.statusCode(),
                    response.body(),
                    response.headers().firstValue("x-request-id").orElse(null),
                    retryAfterMillis(response)));
  }

  private static long retryAfterMillis(HttpResponse<?> response) {
    return response
        .headers()
        .firstValue("retry-after")
        .map(
            value -> {
              try {
                return (long) (Double.parseDouble(value.trim()) * 1000);
              } catch (NumberFormatException e) {
                return -1L;
              }
            })
        .orElse(-1L);
  }

  @Override
  public Optional<String> poolFor(String model) {
    Set<String> served = configuredModels.isEmpty() ? discoveredModels() : configuredModels;
    return served == null || served.contains(model) ? Optional.of(POOL) : Optional.empty();
  }

  /** The server's model list, refreshed now and then; null (accept all) when it cannot be read. */
  private Set<String> discoveredModels() {
    long now = System.currentTimeMillis();
    if (discoveredModels != null && now - discoveredAtMillis < refreshMillis) {
      return discoveredModels;
    }
    try {
      HttpResponse<byte[]> response =
          http.send(
              HttpRequest.newBuilder(URI.create(baseUrl + "/v1/models"))
                  .timeout(Duration.ofSeconds(5))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      if (response.statusCode() != 200) {
        throw new IOException("HTTP " + response.statusCode());
      }
      JsonNode data = json.readTree(response.body()).path("data");
      Set<String> models =
          java.util.stream.StreamSupport.stream(data.spliterator(), false)
              .map(entry -> entry.path("id").asText())
              .collect(Collectors.toUnmodifiableSet());
      discoveredModels = models;
      discoveredAtMillis = now;
      return models;
    } catch (IOException e) {
      log.warn(
          "Cannot read the model list from {}: {}; accepting every model", baseUrl, e.getMessage());
      return discoveredModels;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return discoveredModels;
    }
  }
}
