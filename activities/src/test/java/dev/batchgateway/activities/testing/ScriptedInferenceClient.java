package dev.batchgateway.activities.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.activities.port.InferenceClient;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.activities.port.RequestContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.MDC;

/**
 * An inference pool that answers from a script. Requests are told apart by the {@code user} field
 * of their body, which the tests set to the line's custom_id. Attempt {@code n} of a request gets
 * step {@code n} of its script; the last step repeats; a request without a script gets {@link
 * #ok()}.
 */
public final class ScriptedInferenceClient implements InferenceClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What one attempt gets. */
  public sealed interface Step permits Reply, Failure, Hang {}

  /** An HTTP answer, after {@code delayMillis}. */
  public record Reply(int status, String body, long retryAfterMillis, long delayMillis)
      implements Step {
    public Reply delayed(long millis) {
      return new Reply(status, body, retryAfterMillis, millis);
    }

    public Reply retryAfter(long millis) {
      return new Reply(status, body, millis, delayMillis);
    }
  }

  /** A transport failure: the future completes exceptionally. */
  public record Failure(Throwable error) implements Step {}

  /** No answer at all, until the caller cancels. */
  public record Hang() implements Step {}

  private final Map<String, List<Step>> scripts = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final List<CompletableFuture<InferenceResponse>> hanging = new CopyOnWriteArrayList<>();
  private final List<RequestContext> contexts = new CopyOnWriteArrayList<>();
  private final Map<String, PoolRetry> retries = new ConcurrentHashMap<>();
  private final List<Map<String, String>> logContexts = new CopyOnWriteArrayList<>();

  /** A chat.completion with usage 10 prompt + 5 completion tokens. */
  public static Reply ok() {
    return new Reply(200, chatCompletion("ok"), -1, 0);
  }

  public static Reply status(int status, String body) {
    return new Reply(status, body, -1, 0);
  }

  public static Failure fail(Throwable error) {
    return new Failure(error);
  }

  public static Hang hang() {
    return new Hang();
  }

  public static String chatCompletion(String content) {
    return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"m\","
        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
        + content
        + "\"},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}";
  }

  public ScriptedInferenceClient script(String customId, Step... steps) {
    scripts.put(customId, List.of(steps));
    return this;
  }

  /** Gives {@code pool} retry settings of its own. */
  public ScriptedInferenceClient retry(String pool, PoolRetry retry) {
    retries.put(pool, retry);
    return this;
  }

  /** The batch context of every request sent, in the order they arrived. */
  public List<RequestContext> contexts() {
    return List.copyOf(contexts);
  }

  /** The sending thread's logging context (MDC) at each send, in order. */
  public List<Map<String, String>> logContexts() {
    return List.copyOf(logContexts);
  }

  public int attempts(String customId) {
    AtomicInteger count = attempts.get(customId);
    return count == null ? 0 : count.get();
  }

  /** The custom_id of every request sent, in the order they arrived. */
  public List<String> calls() {
    return List.copyOf(calls);
  }

  /** Futures handed out for {@link Hang} steps, to check they were cancelled. */
  public List<CompletableFuture<InferenceResponse>> hanging() {
    return List.copyOf(hanging);
  }

  @Override
  public CompletableFuture<InferenceResponse> send(InferenceRequest request) {
    String customId = customIdOf(request);
    calls.add(customId);
    contexts.add(request.context());
    Map<String, String> mdc = MDC.getCopyOfContextMap();
    logContexts.add(mdc == null ? Map.of() : mdc);
    int attempt = attempts.computeIfAbsent(customId, id -> new AtomicInteger()).incrementAndGet();
    List<Step> script = scripts.getOrDefault(customId, List.of(ok()));
    Step step = script.get(Math.min(attempt, script.size()) - 1);
    return switch (step) {
      case Reply reply -> answer(reply, customId, attempt);
      case Failure failure -> CompletableFuture.failedFuture(failure.error());
      case Hang h -> {
        CompletableFuture<InferenceResponse> future = new CompletableFuture<>();
        hanging.add(future);
        yield future;
      }
    };
  }

  @Override
  public Optional<String> poolFor(String model) {
    return Optional.of("pool-" + model);
  }

  @Override
  public Optional<PoolRetry> retryFor(String pool) {
    return Optional.ofNullable(retries.get(pool));
  }

  private static CompletableFuture<InferenceResponse> answer(
      Reply reply, String customId, int attempt) {
    InferenceResponse response =
        new InferenceResponse(
            reply.status(),
            reply.body().getBytes(StandardCharsets.UTF_8),
            "req-" + customId + "-" + attempt,
            reply.retryAfterMillis());
    if (reply.delayMillis() <= 0) {
      return CompletableFuture.completedFuture(response);
    }
    CompletableFuture<InferenceResponse> future = new CompletableFuture<>();
    CompletableFuture.delayedExecutor(reply.delayMillis(), TimeUnit.MILLISECONDS)
        .execute(() -> future.complete(response));
    return future;
  }

  private static String customIdOf(InferenceRequest request) {
    try {
      return JSON.readTree(request.body()).path("user").asText();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
