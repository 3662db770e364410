package dev.batchgateway.service.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.service.errors.StoreUnavailableMapper;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import java.sql.SQLException;
import java.util.Optional;
import org.jdbi.v3.core.ConnectionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.MDC;

@ExtendWith(DropwizardExtensionsSupport.class)
class ApiKeyFilterTest {

  @Path("/v1/tenant")
  public static final class TenantResource {
    @GET
    public String tenant(@Context ContainerRequestContext request) {
      return ApiKeyFilter.tenant(request);
    }

    /** The tenant as this request's log lines carry it. */
    @GET
    @Path("/logged")
    public String logged() {
      return String.valueOf(MDC.get(LogContext.TENANT));
    }
  }

  private static final TenantLookup KEYS =
      key -> {
        if (key.equals("sk-db-down")) {
          throw new ConnectionException(new SQLException("Connection refused", "08001"));
        }
        return key.equals("sk-good") ? Optional.of("team-a") : Optional.empty();
      };

  /** Stands in for {@link TrustedHeaderFilter}, which needs a servlet container. */
  @jakarta.annotation.Priority(jakarta.ws.rs.Priorities.AUTHENTICATION - 1)
  public static final class FakeProxy implements jakarta.ws.rs.container.ContainerRequestFilter {
    @Override
    public void filter(ContainerRequestContext request) {
      String tenant = request.getHeaderString("X-Test-Proxied");
      if (tenant != null) {
        request.setProperty(ApiKeyFilter.PROXY_TENANT_PROPERTY, tenant);
      }
    }
  }

  static final ResourceExtension RESOURCES =
      ResourceExtension.builder()
          .setRegisterDefaultExceptionMappers(false)
          .addProvider(new FakeProxy())
          .addProvider(new ApiKeyFilter(KEYS))
          .addProvider(new StoreUnavailableMapper())
          .addResource(new TenantResource())
          .build();

  private Response get(String authorization) {
    var request = RESOURCES.target("/v1/tenant").request();
    if (authorization != null) {
      request = request.header("Authorization", authorization);
    }
    return request.get();
  }

  @Test
  void theTenantIsInTheLoggingContextOfTheRequest() {
    try {
      Response response =
          RESOURCES
              .target("/v1/tenant/logged")
              .request()
              .header("Authorization", "Bearer sk-good")
              .get();
      assertThat(response.readEntity(String.class)).isEqualTo("team-a");
      Response refused =
          RESOURCES
              .target("/v1/tenant/logged")
              .request()
              .header("Authorization", "Bearer sk-bad")
              .get();
      assertThat(refused.getStatus()).isEqualTo(401);
    } finally {
      MDC.clear();
    }
  }

  @Test
  void aKnownKeyNamesItsTenant() {
    Response response = get("Bearer sk-good");
    assertThat(response.getStatus()).isEqualTo(200);
    assertThat(response.readEntity(String.class)).isEqualTo("team-a");
  }

  @Test
  void noKeyOrAnUnknownOneIsA401AndNeverATenant() {
    for (String authorization : new String[] {null, "Bearer ", "Basic c2s6c2s=", "Bearer sk-x"}) {
      Response response = get(authorization);
      assertThat(response.getStatus()).as(authorization).isEqualTo(401);
      JsonNode error = response.readEntity(JsonNode.class).get("error");
      assertThat(error.get("code").asText()).isEqualTo("invalid_api_key");
      assertThat(error.get("type").asText()).isEqualTo("authentication_error");
    }
  }

  @Test
  void aTenantNamedByATrustedProxyNeedsNoKeyButMustBeAValidName() {
    Response proxied =
        RESOURCES.target("/v1/tenant").request().header("X-Test-Proxied", "team-p").get();
    assertThat(proxied.getStatus()).isEqualTo(200);
    assertThat(proxied.readEntity(String.class)).isEqualTo("team-p");
    Response bad =
        RESOURCES
            .target("/v1/tenant")
            .request()
            .header("X-Test-Proxied", "../other")
            .header("Authorization", "Bearer sk-good")
            .get();
    assertThat(bad.getStatus()).isEqualTo(401);
  }

  @Test
  void aDatabaseThatCannotBeReachedIsA503NotAPass() {
    Response response = get("Bearer sk-db-down");
    assertThat(response.getStatus()).isEqualTo(503);
    assertThat(response.readEntity(JsonNode.class).at("/error/code").asText())
        .isEqualTo("service_unavailable");
  }
}
