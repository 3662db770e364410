package dev.batchgateway.service.auth;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;

/**
 * Passes the tenant an authenticating proxy named on to {@link ApiKeyFilter}, for connections from
 * the proxy's addresses only; from anywhere else the header is ignored and the request needs an API
 * key like any other. The peer's own address is used, never a forwarded one.
 */
public final class TrustedHeaderFilter implements Filter {
  private final String header;
  private final AddressRanges proxies;

  public TrustedHeaderFilter(String header, AddressRanges proxies) {
    this.header = header;
    this.proxies = proxies;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    String tenant = ((HttpServletRequest) request).getHeader(header);
    if (tenant != null && proxies.contains(request.getRemoteAddr())) {
      request.setAttribute(ApiKeyFilter.PROXY_TENANT_PROPERTY, tenant);
    }
    chain.doFilter(request, response);
  }
}
