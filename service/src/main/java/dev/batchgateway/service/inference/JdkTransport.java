package dev.batchgateway.service.inference;

import dev.batchgateway.activities.port.InferenceResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The JDK's {@link HttpClient}: pooled HTTP/1.1 connections, answers read by {@link CappedBody}.
 */
final class JdkTransport implements InferenceTransport {
  private final HttpClient http;
  private final String baseUrl;
  private final Duration requestTimeout;
  private final int maxResponseBytes;

  JdkTransport(HttpClient http, String baseUrl, Duration requestTimeout, int maxResponseBytes) {
    this.http = http;
    this.baseUrl = baseUrl;
    this.requestTimeout = requestTimeout;
    this.maxResponseBytes = maxResponseBytes;
  }

  @Override
  public CompletableFuture<InferenceResponse> post(
      String path, Map<String, String> headers, byte[] body) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(requestTimeout)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(builder::setHeader);
    return http.sendAsync(builder.build(), CappedBody.handler(maxResponseBytes))
        .thenApply(JdkTransport::toResponse);
  }

  private static InferenceResponse toResponse(HttpResponse<byte[]> response) {
    return new InferenceResponse(
        response.statusCode(),
        response.body(),
        response.headers().firstValue("x-request-id").orElse(null),
        InferenceTransport.retryAfterMillis(
            response.headers().firstValue("retry-after").orElse(null)));
  }
}
