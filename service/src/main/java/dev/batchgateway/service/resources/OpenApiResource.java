package dev.batchgateway.service.resources;

import dev.batchgateway.service.auth.Unauthenticated;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The OpenAPI document of the whole API ({@code openapi.yaml} in the jar), without a key: tools
 * such as schemathesis and client generators read it before they hold one.
 */
@Path("/v1/openapi.yaml")
@Unauthenticated
public class OpenApiResource {
  /** Where the document is in the jar. */
  public static final String DOCUMENT = "/openapi.yaml";

  static final MediaType YAML = new MediaType("application", "yaml");

  private final byte[] document;

  public OpenApiResource() {
    this.document = load();
  }

  /** The document's bytes; fails at startup, not on a request, if the jar lacks it. */
  public static byte[] load() {
    try (InputStream in = OpenApiResource.class.getResourceAsStream(DOCUMENT)) {
      if (in == null) {
        throw new IllegalStateException(DOCUMENT + " is missing from the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whatever the client accepts, the answer is YAML. */
  @GET
  @Produces(MediaType.WILDCARD)
  public Response document() {
    return Response.ok(document, YAML).header("Cache-Control", "no-cache").build();
  }
}
