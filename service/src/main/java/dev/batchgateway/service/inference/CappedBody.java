package dev.batchgateway.service.inference;

import dev.batchgateway.activities.port.ResponseTooLargeException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * Collects a response body into one array, up to a limit. Past the limit (or when {@code
 * Content-Length} already says it will be) it stops reading, cancels the body, which closes the
 * connection, and fails with {@link ResponseTooLargeException}: a worker never holds more than the
 * limit of one answer however large the server makes it.
 */
final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
  private static final int FIRST_CAPACITY = 16 * 1024;

  private final CompletableFuture<byte[]> body = new CompletableFuture<>();
  private final int maxBytes;
  private final long declaredBytes;
  private Flow.Subscription subscription;
  private byte[] bytes;
  private int length;

  private CappedBody(int maxBytes, long declaredBytes) {
    this.maxBytes = maxBytes;
    this.declaredBytes = declaredBytes;
  }

  static HttpResponse.BodyHandler<byte[]> handler(int maxBytes) {
    return info ->
        new CappedBody(maxBytes, info.headers().firstValueAsLong("content-length").orElse(-1));
  }

  @Override
  public void onSubscribe(Flow.Subscription subscription) {
    this.subscription = subscription;
    if (declaredBytes > maxBytes) {
      tooLarge();
      return;
    }
    bytes = new byte[declaredBytes >= 0 ? (int) declaredBytes : FIRST_CAPACITY];
    subscription.request(1);
  }

  @Override
  public void onNext(List<ByteBuffer> buffers) {
    if (body.isDone()) {
      return;
    }
    for (ByteBuffer buffer : buffers) {
      int count = buffer.remaining();
      if (count > maxBytes - length) {
        tooLarge();
        return;
      }
      if (length + count > bytes.length) {
        int grown = (int) Math.min(maxBytes, Math.max(2L * bytes.length, length + count));
        bytes = Arrays.copyOf(bytes, grown);
      }
      buffer.get(bytes, length, count);
      length += count;
    }
    subscription.request(1);
  }

  private void tooLarge() {
    bytes = null;
    subscription.cancel();
    body.completeExceptionally(new ResponseTooLargeException(maxBytes));
  }

  @Override
  public void onError(Throwable error) {
    bytes = null;
    body.completeExceptionally(error);
  }

  @Override
  public void onComplete() {
    if (!body.isDone()) {
      body.complete(length == bytes.length ? bytes : Arrays.copyOf(bytes, length));
      bytes = null;
    }
  }

  @Override
  public CompletionStage<byte[]> getBody() {
    return body;
  }
}
