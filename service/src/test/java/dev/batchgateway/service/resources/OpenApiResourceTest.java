package dev.batchgateway.service.resources;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.batchgateway.service.auth.ApiKeyFilter;
import dev.batchgateway.service.errors.WebApplicationExceptionMapper;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Response;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(DropwizardExtensionsSupport.class)
class OpenApiResourceTest {

  /** A route that needs a key, next to the document that does not. */
  @Path("/v1/secret")
  public static final class KeyedResource {
    @GET
    public String secret() {
      return "secret";
    }
  }

  static final ResourceExtension RESOURCES =
      ResourceExtension.builder()
          .setRegisterDefaultExceptionMappers(false)
          .addProvider(
              new ApiKeyFilter(key -> key.equals("sk-good") ? Optional.of("t") : Optional.empty()))
          .addProvider(new WebApplicationExceptionMapper())
          .addResource(new OpenApiResource())
          .addResource(new KeyedResource())
          .build();

  @Test
  void theDocumentIsServedWithoutAKeyAsYaml() throws Exception {
    for (String accept : new String[] {null, "application/json", "application/binary", "*/*"}) {
      var request = RESOURCES.target("/v1/openapi.yaml").request();
      if (accept != null) {
        request = request.header("Accept", accept);
      }
      Response response = request.get();

      assertThat(response.getStatus()).as(accept).isEqualTo(200);
      assertThat(response.getMediaType().toString()).startsWith("application/yaml");
      byte[] body = response.readEntity(byte[].class);
      assertThat(body).isEqualTo(OpenApiResource.load());
      JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(body);
      assertThat(doc.get("openapi").asText()).startsWith("3.");
    }
  }

  @Test
  void otherRoutesStillNeedAKey() {
    assertThat(RESOURCES.target("/v1/secret").request().get().getStatus()).isEqualTo(401);
    assertThat(
            RESOURCES
                .target("/v1/secret")
                .request()
                .header("Authorization", "Bearer sk-good")
                .get()
                .getStatus())
        .isEqualTo(200);
  }

  @Test
  void writingToTheDocumentIsAnUnknownRoute() {
    Response response =
        RESOURCES.target("/v1/openapi.yaml").request().post(jakarta.ws.rs.client.Entity.text("x"));

    assertThat(response.getStatus()).isEqualTo(404);
    assertThat(response.readEntity(JsonNode.class).at("/error/message").asText())
        .startsWith("Unknown request URL");
  }
}
