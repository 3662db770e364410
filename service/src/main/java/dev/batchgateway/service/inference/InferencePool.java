package dev.batchgateway.service.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.port.InferenceCallSpan;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

  /** The endpoint an inference call's span went to. */
  static final AttributeKey<String> ENDPOINT = AttributeKey.stringKey("batch_gateway.endpoint");

  private static final long FIRST_READ_WAIT_MILLIS = 2_000;

  final String name;
  private final Set<String> models;
  private final List<Endpoint> endpoints;
  private final RankingHeaders headers;
  private final Duration cooldown;
  private final ObjectMapper json;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final long refreshMillis;
  private final int maxResponseBytes;
  private final AtomicInteger turn = new AtomicInteger();
  private final Object discoveryLock = new Object();
  private volatile Set<String> discoveredModels;
  private volatile long nextDiscoveryMillis;
  private volatile String lastDiscoveryProblem;
  private int discoveryFailures;
  private long firstReadDeadlineNanos;
  private CompletableFuture<Void> discovery;

  InferencePool(
      String name,
      Set<String> models,
      List<Endpoint> endpoints,
      RankingHeaders headers,
      Duration cooldown,
      Duration modelsRefresh,
      int maxResponseBytes,
      ObjectMapper json,
      Clock clock,
      LongSupplier nanoTime) {
    this.name = name;
    this.models = Set.copyOf(models);
    this.endpoints = List.copyOf(endpoints);
    this.headers = headers;
    this.cooldown = cooldown;
    this.refreshMillis = modelsRefresh.toMillis();
    this.maxResponseBytes = maxResponseBytes;
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

  /**
   * Sends the request. When the call has a recorded span ({@link InferenceCallSpan}), the span
   * learns the endpoint, and the engine gets its {@code traceparent} so its own spans join the
   * trace.
   */
  CompletableFuture<InferenceResponse> send(InferenceRequest request) {
    return send(request, new ArrayList<>(), InferenceCallSpan.current());
  }

  private CompletableFuture<InferenceResponse> send(
      InferenceRequest request, List<Endpoint> tried, Span span) {
    Endpoint endpoint = pick(tried);
    endpoint.inFlight.incrementAndGet();
    if (span.isRecording()) {
      span.setAttribute(ENDPOINT, endpoint.baseUrl);
    }
    CompletableFuture<InferenceResponse> answer;
    try {
      answer =
          endpoint.transport.post(request.path(), headers(endpoint, request, span), request.body());
    } catch (RuntimeException e) {
      endpoint.inFlight.decrementAndGet();
      return CompletableFuture.failedFuture(e);
    }
    return answer
        .handle(
            (response, error) -> {
              endpoint.inFlight.decrementAndGet();
              if (error == null) {
                return CompletableFuture.completedFuture(response);
              }
              if (neverArrived(error)) {
                endpoint.markDown(nanoTime.getAsLong(), cooldown);
                tried.add(endpoint);
                if (tried.size() < endpoints.size()) {
                  if (span.isRecording()) {
                    span.addEvent("connection refused by " + endpoint.baseUrl);
                  }
                  log.warn(
                      "Pool {}: {} refused the connection; resting it for {}",
                      name,
                      endpoint,
                      cooldown);
                  return send(request, tried, span);
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

  /** What goes with the body: its type, the ranking headers, the request's own, the key. */
  private Map<String, String> headers(Endpoint endpoint, InferenceRequest request, Span span) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", "application/json");
    headers.putAll(this.headers.of(request.context(), clock.millis()));
    headers.putAll(request.headers());
    if (span.isRecording()) {
      SpanContext context = span.getSpanContext();
      headers.put(
          "traceparent",
          "00-"
              + context.getTraceId()
              + "-"
              + context.getSpanId()
              + "-"
              + context.getTraceFlags().asHex());
    }
    if (endpoint.authorization != null) {
      headers.put("Authorization", endpoint.authorization);
    }
    return headers;
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

  /**
   * The union of the endpoints' {@code /v1/models} as last read; a read runs in the background when
   * the list is due (one at a time, so a slow server holds up no caller). Before the first
   * successful read a caller waits for it at most {@value #FIRST_READ_WAIT_MILLIS} ms in all, then
   * gets null: the list is unknown. A failed read is tried again after 1 s, doubling up to the
   * refresh period; the last good list stands meanwhile.
   */
  private Set<String> discoveredModels() {
    CompletableFuture<Void> reading = startDiscoveryIfDue();
    Set<String> known = discoveredModels;
    if (known != null || reading == null) {
      return known;
    }
    long waitNanos = firstReadDeadlineNanos - nanoTime.getAsLong();
    if (waitNanos > 0) {
      try {
        reading.get(waitNanos, TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        // Still unknown: the caller says so.
      }
    }
    return discoveredModels;
  }

  /** Starts reading the model list unless a read is running or the list is not due. */
  CompletableFuture<Void> startDiscoveryIfDue() {
    synchronized (discoveryLock) {
      if (discovery != null && !discovery.isDone()) {
        return discovery;
      }
      if (clock.millis() < nextDiscoveryMillis) {
        return null;
      }
      if (discoveredModels == null && firstReadDeadlineNanos == 0) {
        firstReadDeadlineNanos = nanoTime.getAsLong() + FIRST_READ_WAIT_MILLIS * 1_000_000;
      }
      CompletableFuture<Void> started = new CompletableFuture<>();
      discovery = started;
      Thread.ofVirtual().name("models-" + name).start(() -> discover(started));
      return started;
    }
  }

  /** Why the model list is not known, for error messages. */
  String discoveryProblem() {
    String problem = lastDiscoveryProblem;
    return problem == null ? "the first read is still running" : problem;
  }

  private void discover(CompletableFuture<Void> done) {
    Set<String> union = null;
    List<String> problems = new ArrayList<>();
    for (Endpoint endpoint : endpoints) {
      try {
        Set<String> served = listModels(endpoint);
        union = union == null ? new HashSet<>() : union;
        union.addAll(served);
      } catch (IOException | RuntimeException e) {
        problems.add(endpoint + "/v1/models: " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        problems.add(endpoint + "/v1/models: interrupted");
        break;
      }
    }
    long now = clock.millis();
    if (union != null) {
      discoveredModels = Set.copyOf(union);
      discoveryFailures = 0;
      lastDiscoveryProblem = null;
      nextDiscoveryMillis = now + refreshMillis;
    } else {
      discoveryFailures = Math.min(discoveryFailures + 1, 20);
      lastDiscoveryProblem = String.join("; ", problems);
      long backoff = DISCOVERY_RETRY_MILLIS << Math.min(discoveryFailures - 1, 10);
      nextDiscoveryMillis =
          now + Math.min(Math.max(refreshMillis, DISCOVERY_RETRY_MILLIS), backoff);
      log.warn("Pool {}: cannot read the model list: {}", name, lastDiscoveryProblem);
    }
    done.complete(null);
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
