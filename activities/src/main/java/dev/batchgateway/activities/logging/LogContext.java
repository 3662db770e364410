package dev.batchgateway.activities.logging;

import java.util.Map;
import java.util.function.BiConsumer;
import org.slf4j.MDC;

/**
 * The logging context (SLF4J's MDC) a log line carries: the API request's id, the tenant and the
 * batch. The text log format prints the request id; the JSON format prints every key as a field of
 * its own. Threads are pooled, so whoever puts keys in restores the thread's earlier context when
 * done.
 */
public final class LogContext {
  public static final String REQUEST_ID = "request_id";
  public static final String TENANT = "tenant";
  public static final String BATCH_ID = "batch_id";

  private LogContext() {}

  /** Restores the context that was in place when the scope was opened. */
  public interface Scope extends AutoCloseable {
    @Override
    void close();
  }

  /** Puts {@code key} in the context, or takes it out when {@code value} is null. */
  public static void put(String key, String value) {
    if (value == null) {
      MDC.remove(key);
    } else {
      MDC.put(key, value);
    }
  }

  /** Sets the batch and its tenant until the scope closes. */
  public static Scope forBatch(String batchId, String tenant) {
    Map<String, String> before = MDC.getCopyOfContextMap();
    put(BATCH_ID, batchId);
    put(TENANT, tenant);
    return () -> restore(before);
  }

  /**
   * The callback run with {@code context} added to the logging context of whichever thread runs it,
   * for callbacks that complete on another thread (an HTTP client's event loop); that thread's own
   * values of those keys are put back afterwards. Only the given keys are touched, so this costs a
   * few map operations, no copy of the context.
   */
  public static <T, U> BiConsumer<T, U> carrying(
      Map<String, String> context, BiConsumer<T, U> callback) {
    return (first, second) -> {
      String[] keys = context.keySet().toArray(String[]::new);
      String[] before = new String[keys.length];
      for (int i = 0; i < keys.length; i++) {
        before[i] = MDC.get(keys[i]);
        put(keys[i], context.get(keys[i]));
      }
      try {
        callback.accept(first, second);
      } finally {
        for (int i = 0; i < keys.length; i++) {
          put(keys[i], before[i]);
        }
      }
    };
  }

  private static void restore(Map<String, String> context) {
    if (context == null || context.isEmpty()) {
      MDC.clear();
    } else {
      MDC.setContextMap(context);
    }
  }
}
