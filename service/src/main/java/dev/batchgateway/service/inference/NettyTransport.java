package dev.batchgateway.service.inference;

import dev.batchgateway.activities.port.InferenceResponse;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * HTTP/1.1 over Netty: keep-alive connections to one server, reused most recently used first, one
 * request at a time on each; as many connections as requests in flight. The body goes out as the
 * bytes given, headers and body in one write; the answer is collected by {@link NettyExchange} on
 * the event loop, which also completes the future (no hand-off to another thread).
 */
final class NettyTransport implements InferenceTransport {
  private final Bootstrap bootstrap;
  private final String hostHeader;
  private final String basePath;
  private final long timeoutNanos;
  private final int maxResponseBytes;
  private final Deque<Channel> idle = new ConcurrentLinkedDeque<>();

  /**
   * @param tls the context for an {@code https} server (null for {@code http})
   */
  NettyTransport(
      EventLoopGroup group,
      String baseUrl,
      Duration connectTimeout,
      Duration requestTimeout,
      SslContext tls,
      int maxResponseBytes) {
    URI base = URI.create(baseUrl);
    boolean https = "https".equalsIgnoreCase(base.getScheme());
    int port = base.getPort() != -1 ? base.getPort() : https ? 443 : 80;
    String host = base.getHost();
    String address = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    this.hostHeader = base.getPort() == -1 ? host : host + ":" + base.getPort();
    String path = base.getRawPath();
    this.basePath = path == null ? "" : path;
    this.timeoutNanos = requestTimeout.toNanos();
    this.maxResponseBytes = maxResponseBytes;
    SslContext context = https ? tls : null;
    this.bootstrap =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
            .option(ChannelOption.TCP_NODELAY, true)
            .remoteAddress(address, port)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    ChannelPipeline pipeline = channel.pipeline();
                    if (context != null) {
                      pipeline.addLast(tlsHandler(context, channel, address, port));
                    }
                    pipeline.addLast(new HttpClientCodec());
                    pipeline.addLast(new NettyExchange(NettyTransport.this));
                  }
                });
  }

  /** Checks the server's name against its certificate, as the JDK client does. */
  private static SslHandler tlsHandler(SslContext context, Channel channel, String host, int port) {
    SslHandler handler = context.newHandler(channel.alloc(), host, port);
    SSLEngine engine = handler.engine();
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    engine.setSSLParameters(parameters);
    return handler;
  }

  @Override
  public CompletableFuture<InferenceResponse> post(
      String path, Map<String, String> headers, byte[] body) {
    FullHttpRequest request =
        new DefaultFullHttpRequest(
            HttpVersion.HTTP_1_1, HttpMethod.POST, basePath + path, Unpooled.wrappedBuffer(body));
    request.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return exchange(request, headers);
  }

  /** A GET of {@code path} (with its query, if any), answered as {@link #post} is. */
  CompletableFuture<InferenceResponse> get(String path, Map<String, String> headers) {
    return exchange(
        new DefaultFullHttpRequest(
            HttpVersion.HTTP_1_1, HttpMethod.GET, basePath + path, Unpooled.EMPTY_BUFFER),
        headers);
  }

  private CompletableFuture<InferenceResponse> exchange(
      FullHttpRequest request, Map<String, String> headers) {
    HttpHeaders out = request.headers();
    out.set(HttpHeaderNames.HOST, hostHeader);
    headers.forEach(out::set);
    CompletableFuture<InferenceResponse> answer = new CompletableFuture<>();
    Channel channel = idleConnection();
    if (channel != null) {
      send(channel, request, answer, true);
    } else {
      connectAndSend(request, answer);
    }
    return answer;
  }

  private void connectAndSend(
      FullHttpRequest request, CompletableFuture<InferenceResponse> answer) {
    bootstrap
        .connect()
        .addListener(
            (ChannelFuture connected) -> {
              if (connected.isSuccess()) {
                send(connected.channel(), request, answer, false);
              } else {
                request.release();
                answer.completeExceptionally(connected.cause());
              }
            });
  }

  /**
   * Sends on the connection's event loop. A reused connection that the server closed while it was
   * idle never saw the request, so it goes out on a new one.
   */
  private void send(
      Channel channel,
      FullHttpRequest request,
      CompletableFuture<InferenceResponse> answer,
      boolean reused) {
    Runnable begin =
        () -> {
          NettyExchange exchange =
              channel.isActive() ? channel.pipeline().get(NettyExchange.class) : null;
          if (exchange != null) {
            exchange.begin(request, answer, timeoutNanos);
          } else if (reused) {
            connectAndSend(request, answer);
          } else {
            request.release();
            answer.completeExceptionally(
                new IOException("The server closed the connection before the request"));
          }
        };
    if (channel.eventLoop().inEventLoop()) {
      begin.run();
    } else {
      channel.eventLoop().execute(begin);
    }
  }

  /** The most recently returned connection that is still open, or null. */
  private Channel idleConnection() {
    for (Channel channel = idle.pollFirst(); channel != null; channel = idle.pollFirst()) {
      if (channel.isActive()) {
        return channel;
      }
    }
    return null;
  }

  /** Takes back a connection whose last answer was read whole and that the server keeps open. */
  void release(Channel channel) {
    idle.offerFirst(channel);
  }

  /** Forgets a connection that closed while idle. */
  void closed(Channel channel) {
    idle.remove(channel);
  }

  int maxResponseBytes() {
    return maxResponseBytes;
  }

  /** Connections open and idle now. */
  int idleConnections() {
    return (int) idle.stream().filter(Channel::isActive).count();
  }
}
