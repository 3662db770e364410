package dev.batchgateway.service.inference;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.capacity.HttpEngineMetrics;
import dev.batchgateway.activities.port.InferenceClient;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.ModelListUnavailableException;
import dev.batchgateway.activities.port.PoolRetry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLContext;

/**
 * Sends each request to the pool that serves its model, over pooled HTTP/1.1 connections, with the
 * pool's key, TLS settings and llm-d ranking headers. Pools whose models are listed are asked
 * first; then those that read their endpoints' {@code /v1/models}, in configured order.
 */
public final class HttpInferenceClient implements InferenceClient, AutoCloseable {
  private final Map<String, InferencePool> pools = new LinkedHashMap<>();

  /** The event loop of the {@code netty} client; null with the JDK client. */
  private final EventLoopGroup io;

  private final Map<String, PoolRetry> retries = new LinkedHashMap<>();

  /** Each metrics URL's TLS and connect timeout: those of the endpoint it belongs to. */
  private final Map<String, MetricsSource> metricsSources = new ConcurrentHashMap<>();

  /** The transports that read metrics pages, one per URL, made at the first read. */
  private final Map<String, NettyTransport> metricsTransports = new ConcurrentHashMap<>();

  private record MetricsSource(SSLContext tls, Duration connectTimeout) {}

  /** Most bytes of one metrics page read. */
  private static final int MAX_METRICS_BYTES = 4 * 1024 * 1024;

  /** Most bytes of one answer read when no limit is given. */
  public static final int DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

  public HttpInferenceClient(
      InferenceSettings settings,
      PoolRetry defaultRetry,
      ObjectMapper json,
      Clock clock,
      Function<String, String> env) {
    this(settings, defaultRetry, DEFAULT_MAX_RESPONSE_BYTES, json, clock, env);
  }

  /**
   * @param defaultRetry the retry settings under {@code batches:}, which pools may override
   * @param maxResponseBytes most bytes of one answer read; a longer one fails the request with
   *     {@link dev.batchgateway.activities.port.ResponseTooLargeException}
   * @param env reads the environment variables holding API keys and trust store passwords
   */
  public HttpInferenceClient(
      InferenceSettings settings,
      PoolRetry defaultRetry,
      int maxResponseBytes,
      ObjectMapper json,
      Clock clock,
      Function<String, String> env) {
    io =
        settings.getClient() == InferenceSettings.Client.NETTY
            ? new MultiThreadIoEventLoopGroup(
                settings.getIoThreads(),
                new DefaultThreadFactory("inference-io", true),
                NioIoHandler.newFactory())
            : null;
    for (PoolSettings pool : settings.effectivePools()) {
      List<Endpoint> endpoints = new ArrayList<>();
      for (EndpointSettings endpoint : pool.getEndpoints()) {
        endpoints.add(endpoint(pool.getName(), endpoint, settings, maxResponseBytes, env));
      }
      pools.put(
          pool.getName(),
          new InferencePool(
              pool.getName(),
              new HashSet<>(pool.getModels()),
              endpoints,
              new RankingHeaders(pool.headersOr(settings.getHeaders())),
              Duration.ofMillis(pool.getEndpointCooldown().toMilliseconds()),
              Duration.ofMillis(settings.getModelsRefresh().toMilliseconds()),
              maxResponseBytes,
              json,
              clock,
              System::nanoTime));
      if (!pool.getRetry().isEmpty()) {
        retries.put(pool.getName(), pool.getRetry().over(defaultRetry));
      }
    }
    // Read the model lists now, so the first batch does not wait for them.
    for (InferencePool pool : pools.values()) {
      if (!pool.listsModels()) {
        pool.startDiscoveryIfDue();
      }
    }
  }

  private Endpoint endpoint(
      String pool,
      EndpointSettings endpoint,
      InferenceSettings settings,
      int maxResponseBytes,
      Function<String, String> env) {
    try {
      Duration connectTimeout =
          Duration.ofMillis(
              endpoint.connectTimeoutOr(settings.getConnectTimeout()).toMilliseconds());
      Duration requestTimeout =
          Duration.ofMillis(
              endpoint.requestTimeoutOr(settings.getRequestTimeout()).toMilliseconds());
      SSLContext tls = endpoint.getTls().sslContext(env);
      metricsSources.putIfAbsent(endpoint.metricsUrl(), new MetricsSource(tls, connectTimeout));
      HttpClient http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(connectTimeout)
              .sslContext(tls)
              .build();
      InferenceTransport transport =
          io == null
              ? new JdkTransport(http, endpoint.baseUrl(), requestTimeout, maxResponseBytes)
              : new NettyTransport(
                  io,
                  endpoint.baseUrl(),
                  connectTimeout,
                  requestTimeout,
                  new JdkSslContext(tls, true, ClientAuth.NONE),
                  maxResponseBytes);
      return new Endpoint(endpoint.baseUrl(), http, transport, endpoint.apiKey(env));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(
          "Inference pool '" + pool + "', endpoint " + endpoint.getUrl() + ": " + e.getMessage(),
          e);
    }
  }

  /**
   * Reads engines' metrics pages on the {@code netty} client's event loop, with the TLS settings of
   * the endpoint each page belongs to; empty with the JDK client. A page not read within {@code
   * timeout} counts as none.
   */
  public Optional<HttpEngineMetrics.Fetcher> metricsFetcher(Duration timeout) {
    if (io == null) {
      return Optional.empty();
    }
    return Optional.of(
        url -> {
          NettyTransport transport =
              metricsTransports.computeIfAbsent(url, u -> metricsTransport(u, timeout));
          URI uri = URI.create(url);
          String path =
              uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
          if (uri.getRawQuery() != null) {
            path += "?" + uri.getRawQuery();
          }
          return transport
              .get(path, Map.of())
              .thenApply(
                  response ->
                      response.statusCode() == 200
                          ? new String(response.body(), StandardCharsets.UTF_8)
                          : null);
        });
  }

  private NettyTransport metricsTransport(String url, Duration timeout) {
    MetricsSource source = metricsSources.getOrDefault(url, new MetricsSource(null, timeout));
    URI uri = URI.create(url);
    String origin = uri.getScheme() + "://" + uri.getRawAuthority();
    try {
      SSLContext tls = source.tls() != null ? source.tls() : SSLContext.getDefault();
      return new NettyTransport(
          io,
          origin,
          source.connectTimeout().compareTo(timeout) < 0 ? source.connectTimeout() : timeout,
          timeout,
          new JdkSslContext(tls, true, ClientAuth.NONE),
          MAX_METRICS_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("No TLS for " + url + ": " + e.getMessage(), e);
    }
  }

  /** Stops the event loop of the {@code netty} client, closing its connections. */
  @Override
  public void close() {
    if (io != null) {
      io.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Override
  public CompletableFuture<InferenceResponse> send(InferenceRequest request) {
    Optional<InferencePool> pool;
    try {
      pool = poolFor(request.model()).map(pools::get);
    } catch (ModelListUnavailableException e) {
      // Like a refused connection: nothing was sent, so the request is retried.
      return CompletableFuture.failedFuture(e);
    }
    if (pool.isEmpty()) {
      return CompletableFuture.completedFuture(modelNotFound());
    }
    return pool.get().send(request);
  }

  @Override
  public Optional<String> poolFor(String model) {
    for (InferencePool pool : pools.values()) {
      if (pool.listsModels() && pool.servedModels().contains(model)) {
        return Optional.of(pool.name);
      }
    }
    InferencePool unknown = null;
    for (InferencePool pool : pools.values()) {
      if (pool.listsModels()) {
        continue;
      }
      Set<String> served = pool.servedModels();
      if (served != null && served.contains(model)) {
        return Optional.of(pool.name);
      }
      if (served == null && unknown == null) {
        unknown = pool;
      }
    }
    if (unknown != null) {
      throw new ModelListUnavailableException(
          "Cannot tell whether model '"
              + model
              + "' is served: the model list of inference pool '"
              + unknown.name
              + "' has not been read from its servers yet ("
              + unknown.discoveryProblem()
              + ").");
    }
    return Optional.empty();
  }

  @Override
  public Optional<PoolRetry> retryFor(String pool) {
    return Optional.ofNullable(retries.get(pool));
  }

  /** The answer for a model no pool serves any longer, as the OpenAI API words it. */
  private static InferenceResponse modelNotFound() {
    String body =
        "{\"error\":{\"message\":\"No inference pool serves this model.\","
            + "\"type\":\"invalid_request_error\",\"param\":\"model\",\"code\":\"model_not_found\"}}";
    return new InferenceResponse(404, body.getBytes(StandardCharsets.UTF_8), null, -1);
  }
}
