package dev.batchgateway.service.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import dev.batchgateway.activities.logging.LogContext;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class RequestIdFilterTest {

  @Test
  void theIdIsInTheLoggingContextWhileTheRequestRunsAndEchoed() throws Exception {
    HttpServletRequest request = mock(HttpServletRequest.class);
    HttpServletResponse response = mock(HttpServletResponse.class);
    when(request.getHeader("x-request-id")).thenReturn("trace-7");
    AtomicReference<String> seen = new AtomicReference<>();

    new RequestIdFilter()
        .doFilter(request, response, (req, res) -> seen.set(MDC.get("request_id")));

    assertThat(seen.get()).isEqualTo("trace-7");
    assertThat(MDC.get("request_id")).isNull();
    verify(response).setHeader("x-request-id", "trace-7");
  }

  @Test
  void whatTheRequestAddedToTheLoggingContextIsGoneAfterIt() throws Exception {
    HttpServletRequest request = mock(HttpServletRequest.class);
    HttpServletResponse response = mock(HttpServletResponse.class);

    new RequestIdFilter()
        .doFilter(
            request,
            response,
            (req, res) -> {
              MDC.put(LogContext.TENANT, "team-a");
              MDC.put(LogContext.BATCH_ID, "batch_1");
            });

    assertThat(MDC.getCopyOfContextMap()).isNullOrEmpty();
  }

  @Test
  void securityHeadersAreSetBeforeTheRequestRuns() throws Exception {
    HttpServletResponse response = mock(HttpServletResponse.class);
    new SecurityHeadersFilter()
        .doFilter(
            mock(HttpServletRequest.class),
            response,
            (req, res) -> verify(response).setHeader("X-Content-Type-Options", "nosniff"));
    verify(response).setHeader("Cache-Control", "no-store");
  }
}
