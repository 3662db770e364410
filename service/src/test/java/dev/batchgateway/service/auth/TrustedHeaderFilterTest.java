package dev.batchgateway.service.auth;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import jakarta.servlet.FilterChain;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.Test;

class TrustedHeaderFilterTest {
  private final TrustedHeaderFilter filter =
      new TrustedHeaderFilter("X-Tenant", AddressRanges.parse("10.1.0.0/16"));

  private HttpServletRequest request(String from) {
    HttpServletRequest request = mock(HttpServletRequest.class);
    when(request.getRemoteAddr()).thenReturn(from);
    when(request.getHeader("X-Tenant")).thenReturn("team-p");
    return request;
  }

  @Test
  void theHeaderCountsFromAProxy() throws Exception {
    HttpServletRequest request = request("10.1.2.3");
    FilterChain chain = mock(FilterChain.class);
    filter.doFilter(request, mock(HttpServletResponse.class), chain);
    verify(request).setAttribute(ApiKeyFilter.PROXY_TENANT_PROPERTY, "team-p");
    verify(chain).doFilter(any(), any());
  }

  @Test
  void theHeaderIsIgnoredFromAnywhereElse() throws Exception {
    HttpServletRequest request = request("10.2.2.3");
    FilterChain chain = mock(FilterChain.class);
    filter.doFilter(request, mock(HttpServletResponse.class), chain);
    verify(request, never()).setAttribute(anyString(), any());
    verify(chain).doFilter(any(), any());
  }
}
