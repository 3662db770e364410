package dev.batchgateway.activities.capacity;

import dev.batchgateway.workflows.capacity.EngineSample;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * Reads vLLM's Prometheus endpoint ({@code /metrics}) of every engine of a pool at once, with a
 * short timeout: a reading that comes late is no use to a loop that runs several times a second.
 */
public final class HttpEngineMetrics implements EngineMetrics {
  static final String RUNNING = "vllm:num_requests_running";
  static final String WAITING = "vllm:num_requests_waiting";
  static final String KV_CACHE = "vllm:kv_cache_usage_perc";

  /** The name before vLLM 0.10. */
  static final String KV_CACHE_OLD = "vllm:gpu_cache_usage_perc";

  static final String TTFT = "vllm:time_to_first_token_seconds";
  static final String TPOT = "vllm:time_per_output_token_seconds";

  /** How long past its timeout a read may take before the loop stops waiting for it. */
  private static final long GRACE_MILLIS = 1000;

  /**
   * Fetches one metrics page. The future holds the body of a 200 answer, or null for any other
   * answer; it may also fail. Either way it must end within about the metrics timeout.
   */
  @FunctionalInterface
  public interface Fetcher {
    CompletableFuture<String> fetch(String url);
  }

  private final Fetcher fetcher;
  private final Duration timeout;

  /** Each URL's histogram totals at its last read, for the means since then. */
  private final ConcurrentMap<String, Totals> previous = new ConcurrentHashMap<>();

  private record Totals(double ttftSum, double ttftCount, double tpotSum, double tpotCount) {}

  private record Reading(String url, PrometheusText metrics) {}

  /** Reads with the JDK's HTTP client (and its default TLS trust). */
  public HttpEngineMetrics(Duration timeout) {
    this(jdkFetcher(timeout), timeout);
  }

  /**
   * @param fetcher reads one page; the gateway passes its inference client's event loop, so the
   *     reads cost no threads of their own
   * @param timeout a page not read by then counts as no reading
   */
  public HttpEngineMetrics(Fetcher fetcher, Duration timeout) {
    this.fetcher = fetcher;
    this.timeout = timeout;
  }

  private static Fetcher jdkFetcher(Duration timeout) {
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(timeout)
            .build();
    return url ->
        http.sendAsync(
                HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build(),
                HttpResponse.BodyHandlers.ofString())
            .thenApply(response -> response.statusCode() == 200 ? response.body() : null);
  }

  @Override
  public EngineSample read(List<String> urls) {
    List<CompletableFuture<Reading>> calls = new ArrayList<>(urls.size());
    for (String url : urls) {
      calls.add(fetch(url));
    }
    List<Reading> readings = new ArrayList<>(urls.size());
    for (CompletableFuture<Reading> call : calls) {
      Reading reading = call.join();
      if (reading != null) {
        readings.add(reading);
      }
    }
    return combine(readings);
  }

  private CompletableFuture<Reading> fetch(String url) {
    CompletableFuture<String> page;
    try {
      page = fetcher.fetch(url);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(null);
    }
    // The fetcher has its own timeout; this one only makes sure a loop never waits for ever.
    return page.orTimeout(timeout.toMillis() + GRACE_MILLIS, TimeUnit.MILLISECONDS)
        .thenApply(body -> body == null ? null : new Reading(url, PrometheusText.parse(body)))
        .exceptionally(e -> null);
  }

  private EngineSample combine(List<Reading> readings) {
    int endpoints = 0;
    double running = 0;
    double waiting = 0;
    double kvTotal = 0;
    double ttftSum = 0;
    double ttftCount = 0;
    double tpotSum = 0;
    double tpotCount = 0;
    for (Reading reading : readings) {
      PrometheusText m = reading.metrics();
      if (!m.has(RUNNING)) {
        continue;
      }
      endpoints++;
      running += m.sum(RUNNING);
      waiting += m.sum(WAITING);
      String kv = m.has(KV_CACHE) ? KV_CACHE : KV_CACHE_OLD;
      kvTotal += m.count(kv) == 0 ? 0 : m.sum(kv) / m.count(kv);
      Totals now =
          new Totals(
              m.sum(TTFT + "_sum"),
              m.sum(TTFT + "_count"),
              m.sum(TPOT + "_sum"),
              m.sum(TPOT + "_count"));
      Totals before = previous.put(reading.url(), now);
      // A counter that went down is an engine restart: no delta this time.
      if (before != null
          && now.ttftCount() >= before.ttftCount()
          && now.tpotCount() >= before.tpotCount()) {
        ttftSum += now.ttftSum() - before.ttftSum();
        ttftCount += now.ttftCount() - before.ttftCount();
        tpotSum += now.tpotSum() - before.tpotSum();
        tpotCount += now.tpotCount() - before.tpotCount();
      }
    }
    if (endpoints == 0) {
      return EngineSample.UNREACHABLE;
    }
    return new EngineSample(
        true,
        endpoints,
        (int) Math.round(running),
        (int) Math.round(waiting),
        kvTotal / endpoints,
        ttftCount > 0 ? ttftSum / ttftCount : -1,
        tpotCount > 0 ? tpotSum / tpotCount : -1);
  }
}
