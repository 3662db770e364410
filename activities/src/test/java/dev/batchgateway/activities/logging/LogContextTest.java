package dev.batchgateway.activities.logging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class LogContextTest {

  @AfterEach
  void clear() {
    MDC.clear();
  }

  private static Map<String, String> mdc() {
    Map<String, String> context = MDC.getCopyOfContextMap();
    return context == null ? Map.of() : context;
  }

  @Test
  void aBatchScopeAddsBatchAndTenantAndPutsBackWhatWasThere() {
    MDC.put(LogContext.REQUEST_ID, "req_1");
    MDC.put(LogContext.BATCH_ID, "batch_outer");

    try (LogContext.Scope ignored = LogContext.forBatch("batch_inner", "team-a")) {
      assertThat(mdc())
          .containsEntry(LogContext.BATCH_ID, "batch_inner")
          .containsEntry(LogContext.TENANT, "team-a")
          .containsEntry(LogContext.REQUEST_ID, "req_1");
    }

    assertThat(mdc())
        .isEqualTo(Map.of(LogContext.REQUEST_ID, "req_1", LogContext.BATCH_ID, "batch_outer"));
  }

  @Test
  void aBatchScopeOnAnEmptyThreadLeavesItEmpty() {
    try (LogContext.Scope ignored = LogContext.forBatch("batch_1", null)) {
      assertThat(mdc()).isEqualTo(Map.of(LogContext.BATCH_ID, "batch_1"));
    }
    assertThat(mdc()).isEmpty();
  }

  @Test
  void aCallbackOnAnotherThreadCarriesTheBatchAndLeavesThatThreadAsItWas() throws Exception {
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      other.submit(() -> MDC.put("thread", "pool-own")).get();
      other.submit(() -> MDC.put(LogContext.BATCH_ID, "batch_stale")).get();
      CompletableFuture<Map<String, String>> seen = new CompletableFuture<>();
      BiConsumer<String, Throwable> callback =
          LogContext.carrying(
              Map.of(LogContext.BATCH_ID, "batch_7", LogContext.TENANT, "team-b"),
              (value, error) -> seen.complete(mdc()));

      CompletableFuture<String> answer = new CompletableFuture<>();
      answer.whenCompleteAsync(callback, other);
      answer.complete("ok");

      assertThat(seen.get(5, TimeUnit.SECONDS))
          .isEqualTo(
              Map.of(
                  LogContext.BATCH_ID,
                  "batch_7",
                  LogContext.TENANT,
                  "team-b",
                  "thread",
                  "pool-own"));
      assertThat(other.submit(LogContextTest::mdc).get())
          .isEqualTo(Map.of("thread", "pool-own", LogContext.BATCH_ID, "batch_stale"));
    } finally {
      other.shutdownNow();
    }
  }
}
