package dev.batchgateway.service.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The endpoints serving one set of models. Each request goes to the endpoint with the fewest
 * requests in flight (ties taken in turn); an endpoint that refuses a connection is left alone for
 * a cool-down, and the request, which it never received, goes to the next one at once.
 */
final class InferencePool {
  private static final Logger log = LoggerFactory.getLogger(InferencePool.class);
  private static final long DISCOVERY_RETRY_MILLIS = 1_000;

  final String name;
  private final Set<String> models;
  private final List<Endpoint> endpoints;
  private final RankingHeaders headers;
  private final Duration cooldown;
  private final ObjectMapper json;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final long refreshMillis;
  private final AtomicInteger turn = new AtomicInteger();
  private volatile Set<String> discoveredModels;
  private volatile long nextDiscoveryMillis;

  InferencePool(
      String name,
      Set<String> models,
      List<Endpoint> endpoints,
      RankingHeaders headers,
      Duration cooldown,
      Duration modelsRefresh,
      ObjectMapper json,
      Clock clock,
      LongSupplier nanoTime) {
    this.name = name;
    this.models = Set.copyOf(models);
    this.endpoints = List.copyOf(endpoints);
    this.headers = headers;
    this.cooldown = cooldown;
    this.refreshMillis = modelsRefresh.toMillis();
    this.json = json;
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /** Whether the models are listed in the configuration rather than asked of the endpoints. */
  boolean listsModels() {
    return !models.isEmpty();
  }

  /**
   * The models served: the configured ones, else what the endpoints said last; null when they have
   * not said (then the pool is taken to serve anything).
   */
  Set<String> servedModels() {
    return listsModels() ? models : discoveredModels();
  }

  CompletableFuture<InferenceResponse> send(InferenceRequest request) {
    return send(request, new ArrayList<>());
  }

  private CompletableFuture<InferenceResponse> send(
      InferenceRequest request, List<Endpoint> tried) {
    Endpoint endpoint = pick(tried);
    HttpRequest http = build(endpoint, request);
    endpoint.inFlight.incrementAndGet();
    CompletableFuture<HttpResponse<byte[]>> answer;
    try {
      answer = endpoint.http.sendAsync(http, HttpResponse.BodyHandlers.ofByteArray());
    } catch (RuntimeException e) {
      endpoint.inFlight.decrementAndGet();
      return CompletableFuture.failedFuture(e);
    }
    return answer
        .handle(
            (response, error) -> {
              endpoint.inFlight.decrementAndGet();
              if (error == null) {
                return CompletableFuture.completedFuture(toResponse(response));
              }
              if (neverArrived(error)) {
                endpoint.markDown(nanoTime.getAsLong(), cooldown);
                tried.add(endpoint);
                if (tried.size() < endpoints.size()) {
                  log.warn(
                      "Pool {}: {} refused the connection; resting it for {}",
                      name,
                      endpoint,
                      cooldown);
                  return send(request, tried);
                }
              }
              return CompletableFuture.<InferenceResponse>failedFuture(error);
            })
        .thenCompose(next -> next);
  }

  /** The untried endpoint that is up with the fewest in flight; if none is up, the first back. */
  Endpoint pick(List<Endpoint> tried) {
    long now = nanoTime.getAsLong();
    int count = endpoints.size();
    int start = Math.floorMod(turn.getAndIncrement(), count);
    Endpoint best = null;
    Endpoint soonest = null;
    for (int i = 0; i < count; i++) {
      Endpoint candidate = endpoints.get((start + i) % count);
      if (tried.contains(candidate)) {
        continue;
      }
      if (candidate.isUp(now)) {
        if (best == null || candidate.inFlight.get() < best.inFlight.get()) {
          best = candidate;
        }
      } else if (soonest == null || candidate.downForNanos(now) < soonest.downForNanos(now)) {
        soonest = candidate;
      }
    }
    if (best != null) {
      return best;
    }
    return soonest != null ? soonest : endpoints.get(start);
  }

  private HttpRequest build(Endpoint endpoint, InferenceRequest request) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(endpoint.baseUrl + request.path()))
            .timeout(endpoint.requestTimeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(request.body()));
    headers.of(request.context(), clock.millis()).forEach(builder::setHeader);
    request.headers().forEach(builder::setHeader);
    if (endpoint.authorization != null) {
      builder.setHeader("Authorization", endpoint.authorization);
    }
    return builder.build();
  }

  /** A refused or timed-out connection: the server never saw the request, so resending is safe. */
  private static boolean neverArrived(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof ConnectException || cause instanceof HttpConnectTimeoutException) {
        return true;
      }
    }
    return false;
  }

  private static InferenceResponse toResponse(HttpResponse<byte[]> response) {
    return new InferenceResponse(
        response.statusCode(),
        response.body(),
        response.headers().firstValue("x-request-id").orElse(null),
        retryAfterMillis(response));
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

  /**
   * The union of the endpoints' {@code /v1/models}, refreshed now and then. An endpoint that cannot
   * be read adds nothing; when none can, the last answer stands (null before any).
   */
  private Set<String> discoveredModels() {
    long now = clock.millis();
    if (now < nextDiscoveryMillis) {
      return discoveredModels;
    }
    Set<String> union = null;
    for (Endpoint endpoint : endpoints) {
      try {
        Set<String> served = listModels(endpoint);
        union = union == null ? new HashSet<>() : union;
        union.addAll(served);
      } catch (IOException e) {
        log.warn("Pool {}: cannot read the model list from {}: {}", name, endpoint, e.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return discoveredModels;
      }
    }
    if (union != null) {
      discoveredModels = Set.copyOf(union);
      nextDiscoveryMillis = now + refreshMillis;
    } else {
      nextDiscoveryMillis = now + Math.min(refreshMillis, DISCOVERY_RETRY_MILLIS);
    }
    return discoveredModels;
  }

  private Set<String> listModels(Endpoint endpoint) throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(endpoint.baseUrl + "/v1/models"))
            .timeout(Duration.ofSeconds(5))
            .GET();
    if (endpoint.authorization != null) {
      request.header("Authorization", endpoint.authorization);
    }
    HttpResponse<byte[]> response =
        endpoint.http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() != 200) {
      throw new IOException("HTTP " + response.statusCode());
    }
    Set<String> served = new HashSet<>();
    for (JsonNode entry : json.readTree(response.body()).path("data")) {
      served.add(entry.path("id").asText());
    }
    return served;
  }
}
