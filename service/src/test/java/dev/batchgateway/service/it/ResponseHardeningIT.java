package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Request ids, security headers and the absence of stack traces, over the API's odd corners. */
@ExtendWith(DropwizardExtensionsSupport.class)
class ResponseHardeningIT {
  private static final String KEY = "sk-hardening";

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(KEY + ":" + TestStack.uniqueTenant("hardening"), "BGW_TEST_INFERENCE_URL");

  /** A frame of a Java stack trace, or the names of the classes that would appear in one. */
  private static final Pattern STACK_TRACE =
      Pattern.compile(
          "\\bat [\\w$.]+\\([\\w$]+\\.java:\\d+\\)|\\tat |Exception|java\\.|jakarta\\.|"
              + "org\\.(eclipse|glassfish|jdbi|postgresql)|com\\.fasterxml|dev\\.batchgateway");

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + APP.getLocalPort() + path))
        .header("Authorization", "Bearer " + KEY);
  }

  /**
   * A connection of its own for each request: after some of these the server closes the connection,
   * and a pooled one could be reused just as it closes.
   */
  private static HttpResponse<String> send(HttpRequest request) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    }
  }

  @Test
  void noAnswerHoldsAStackTraceAndEveryOneHasAnIdAndSecurityHeaders() throws Exception {
    String multipart = "multipart/form-data; boundary=xyz";
    List<HttpRequest> requests = new ArrayList<>();
    requests.add(request("/v1/files").build());
    requests.add(request("/v1/nowhere").build());
    requests.add(request("/v1/files").PUT(HttpRequest.BodyPublishers.ofString("x")).build());
    requests.add(request("/v1/files?limit=abc&order=sideways").build());
    requests.add(request("/v1/files?after=" + "f".repeat(5000)).build());
    requests.add(request("/v1/batches?limit=-1&after=%00%ff").build());
    requests.add(request("/v1/files/" + "x".repeat(3000)).build());
    requests.add(
        request("/v1/batches")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"input_file_id\": "))
            .build());
    requests.add(
        request("/v1/batches")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("[1,2,{\"a\":" + "[".repeat(5000)))
            .build());
    requests.add(
        request("/v1/batches")
            .header("Content-Type", "text/plain")
            .POST(HttpRequest.BodyPublishers.ofString("hello"))
            .build());
    requests.add(
        request("/v1/files")
            .header("Content-Type", multipart)
            .POST(HttpRequest.BodyPublishers.ofString("--xyz\r\nContent-Disposition: form"))
            .build());
    requests.add(
        request("/v1/files")
            .header("Content-Type", "multipart/form-data")
            .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {(byte) 0xff, 0, 1}))
            .build());
    requests.add(request("/v1/batches/batch_x/cancel").POST(noBody()).build());
    requests.add(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + APP.getLocalPort() + "/v1/files"))
            .build());
    for (HttpRequest request : requests) {
      HttpResponse<String> response = send(request);
      String what = request.method() + " " + request.uri() + " -> " + response.statusCode();
      assertThat(response.statusCode()).as(what).isLessThan(500);
      assertThat(STACK_TRACE.matcher(response.body()).find())
          .as(what + ": " + response.body())
          .isFalse();
      assertThat(response.headers().firstValue("x-request-id")).as(what).isPresent();
      assertThat(response.headers().firstValue("X-Content-Type-Options"))
          .as(what)
          .contains("nosniff");
      assertThat(response.headers().firstValue("X-Frame-Options")).as(what).contains("DENY");
      assertThat(response.headers().firstValue("Cache-Control")).as(what).contains("no-store");
    }
  }

  /**
   * Jetty refuses an ambiguous path (an encoded slash) before any filter runs, so that answer has
   * no request id or security headers; it must still carry no stack trace.
   */
  @Test
  void jettysOwnRefusalHoldsNoStackTrace() throws Exception {
    HttpResponse<String> response = send(request("/v1/batches/batch_%2e%2e%2fetc").build());
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(STACK_TRACE.matcher(response.body()).find()).as(response.body()).isFalse();
  }

  @Test
  void aSaneRequestIdIsEchoedAndAnOddOneReplaced() throws Exception {
    HttpResponse<String> sane = send(request("/v1/files").header("x-request-id", "abc-42").build());
    assertThat(sane.headers().firstValue("x-request-id")).contains("abc-42");

    HttpResponse<String> odd =
        send(request("/v1/files").header("x-request-id", "two words " + "z".repeat(300)).build());
    assertThat(odd.headers().firstValue("x-request-id").orElseThrow()).matches("req_[0-9a-f]{32}");

    HttpResponse<String> none = send(request("/v1/files").build());
    HttpResponse<String> another = send(request("/v1/files").build());
    assertThat(none.headers().firstValue("x-request-id"))
        .isNotEqualTo(another.headers().firstValue("x-request-id"));
  }

  private static HttpRequest.BodyPublisher noBody() {
    return HttpRequest.BodyPublishers.noBody();
  }
}
