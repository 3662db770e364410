package dev.batchgateway.service.errors;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.junit.jupiter.api.Test;

class EnvelopeErrorHandlerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Found by the fuzz suite: Jetty refused odd URIs with a 400 that had no body. */
  @Test
  void aRequestJettyRefusesGetsTheEnvelope() throws Exception {
    HttpFields.Mutable headers = HttpFields.build();

    ByteBuffer body =
        new EnvelopeErrorHandler().badMessageError(400, "Ambiguous URI encoding", headers);

    byte[] bytes = new byte[body.remaining()];
    body.get(bytes);
    JsonNode error = JSON.readTree(bytes).get("error");
    assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.get("message").asText()).isEqualTo("Bad request: Ambiguous URI encoding.");
    assertThat(error.has("param")).isTrue();
    assertThat(error.has("code")).isTrue();
    assertThat(headers.get("Content-Type")).isEqualTo("application/json");
    assertThat(headers.get("x-should-retry")).isEqualTo("false");
  }

  @Test
  void aLongReasonIsCutAndOtherStatusesGetTheirType() throws Exception {
    JsonNode error = JSON.readTree(EnvelopeErrorHandler.body(431, "x".repeat(10_000))).get("error");

    assertThat(error.get("message").asText().length()).isLessThan(300);
    assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
    assertThat(JSON.readTree(EnvelopeErrorHandler.body(500, null)).at("/error/type").asText())
        .isEqualTo("server_error");
  }

  @Test
  void everyMethodGetsABody() {
    for (String method : new String[] {"GET", "DELETE", "PUT", "PATCH", "OPTIONS"}) {
      assertThat(new EnvelopeErrorHandler().errorPageForMethod(method)).as(method).isTrue();
    }
  }
}
