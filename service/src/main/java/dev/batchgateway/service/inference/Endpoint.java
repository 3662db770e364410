package dev.batchgateway.service.inference;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One server of a pool as the client uses it: its connections, its key, how many requests it has in
 * flight and, after it refused a connection, until when it is left alone. Inference requests go
 * through {@code transport}; the model list is read with the JDK client {@code http}.
 */
final class Endpoint {
  final String baseUrl;
  final HttpClient http;
  final InferenceTransport transport;

  /** The {@code Authorization} header value, or null when the server needs no key. */
  final String authorization;

  final AtomicInteger inFlight = new AtomicInteger();
  private volatile long downUntilNanos;
  private volatile boolean down;

  Endpoint(String baseUrl, HttpClient http, InferenceTransport transport, String apiKey) {
    this.baseUrl = baseUrl;
    this.http = http;
    this.transport = transport;
    this.authorization = apiKey == null || apiKey.isBlank() ? null : "Bearer " + apiKey;
  }

  boolean isUp(long nowNanos) {
    return !down || nowNanos - downUntilNanos >= 0;
  }

  void markDown(long nowNanos, Duration cooldown) {
    downUntilNanos = nowNanos + cooldown.toNanos();
    down = true;
  }

  /** How long until this endpoint is tried again; 0 or less when it is up. */
  long downForNanos(long nowNanos) {
    return down ? downUntilNanos - nowNanos : 0;
  }

  @Override
  public String toString() {
    return baseUrl;
  }
}
