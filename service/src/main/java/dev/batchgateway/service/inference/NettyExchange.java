package dev.batchgateway.service.inference;

import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.ResponseTooLargeException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One connection's request in flight and its answer as it arrives. Runs on the connection's event
 * loop only. The body is collected up to the transport's limit; past it (or when {@code
 * Content-Length} already says it will be) the connection is closed and the request fails with
 * {@link ResponseTooLargeException}, so no more than the limit of one answer is ever held.
 */
final class NettyExchange extends ChannelInboundHandlerAdapter {
  private static final int FIRST_CAPACITY = 16 * 1024;

  private final NettyTransport transport;
  private ChannelHandlerContext context;
  private CompletableFuture<InferenceResponse> answer;
  private ScheduledFuture<?> timer;
  private int status;
  private String requestId;
  private long retryAfterMillis;
  private boolean keepAlive;
  private byte[] bytes;
  private int length;

  NettyExchange(NettyTransport transport) {
    this.transport = transport;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext context) {
    this.context = context;
  }

  void begin(FullHttpRequest request, CompletableFuture<InferenceResponse> answer, long timeout) {
    this.answer = answer;
    this.bytes = null;
    this.length = 0;
    timer =
        context
            .executor()
            .schedule(
                () ->
                    fail(
                        new HttpTimeoutException(
                            "No answer within " + timeout / 1_000_000 + " ms")),
                timeout,
                TimeUnit.NANOSECONDS);
    context
        .writeAndFlush(request)
        .addListener(
            (ChannelFutureListener)
                written -> {
                  if (!written.isSuccess()) {
                    fail(written.cause());
                  }
                });
  }

  @Override
  public void channelRead(ChannelHandlerContext context, Object message) {
    try {
      if (answer != null) {
        read((HttpObject) message);
      }
    } finally {
      ReferenceCountUtil.release(message);
    }
  }

  private void read(HttpObject message) {
    if (message.decoderResult().isFailure()) {
      fail(new IOException("Unreadable answer", message.decoderResult().cause()));
      return;
    }
    int max = transport.maxResponseBytes();
    if (message instanceof HttpResponse response) {
      status = response.status().code();
      requestId = response.headers().get("x-request-id");
      retryAfterMillis = InferenceTransport.retryAfterMillis(response.headers().get("retry-after"));
      keepAlive = HttpUtil.isKeepAlive(response);
      long declared = HttpUtil.getContentLength(response, -1L);
      if (declared > max) {
        fail(new ResponseTooLargeException(max));
        return;
      }
      bytes = new byte[declared >= 0 ? (int) declared : Math.min(FIRST_CAPACITY, max)];
    }
    if (message instanceof HttpContent content) {
      ByteBuf buffer = content.content();
      int count = buffer.readableBytes();
      if (count > max - length) {
        fail(new ResponseTooLargeException(max));
        return;
      }
      if (length + count > bytes.length) {
        bytes =
            Arrays.copyOf(bytes, (int) Math.min(max, Math.max(2L * bytes.length, length + count)));
      }
      buffer.readBytes(bytes, length, count);
      length += count;
      if (message instanceof LastHttpContent) {
        complete();
      }
    }
  }

  private void complete() {
    CompletableFuture<InferenceResponse> done = answer;
    InferenceResponse response =
        new InferenceResponse(
            status,
            length == bytes.length ? bytes : Arrays.copyOf(bytes, length),
            requestId,
            retryAfterMillis);
    reset();
    if (keepAlive) {
      transport.release(context.channel());
    } else {
      context.close();
    }
    done.complete(response);
  }

  /** Fails the request in flight, if any, and closes the connection: its state is unknown. */
  private void fail(Throwable error) {
    CompletableFuture<InferenceResponse> failed = answer;
    reset();
    context.close();
    if (failed != null) {
      failed.completeExceptionally(error);
    }
  }

  private void reset() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    answer = null;
    bytes = null;
    requestId = null;
  }

  @Override
  public void channelInactive(ChannelHandlerContext context) {
    transport.closed(context.channel());
    if (answer != null) {
      fail(new IOException("The server closed the connection before the whole answer"));
    }
    context.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
    if (answer != null) {
      fail(cause);
    } else {
      context.close();
    }
  }
}
