package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.batchgateway.service.BatchGatewayConfiguration;
import dev.batchgateway.service.metrics.ExpositionText;
import dev.batchgateway.service.metrics.MetricsReference;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scrapes the admin port's {@code /metrics} of a whole gateway after a small batch: the text parses
 * as Prometheus exposition 0.0.4, every family in it is in docs/metrics.md with its type and
 * labels, every metric documented as always there is there, and the batch shows in the counts.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class MetricsIT {
  private static final String TENANT = TestStack.uniqueTenant("metrics");
  private static final int LINES = 40;

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway("sk-metrics:" + TENANT, "BGW_TEST_INFERENCE_URL");

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void afterABatchTheExpositionHoldsExactlyTheDocumentedMetrics() throws Exception {
    Api api = new Api(APP.getLocalPort(), "sk-metrics");
    String fileId = api.uploadBatchFile(Lines.chatFile(LINES, 4, TestStack.model()));
    String id = api.createBatch(fileId, "/v1/chat/completions", null).get("id").asText();
    JsonNode batch = api.awaitTerminal(id, Duration.ofSeconds(120));
    assertThat(batch.get("status").asText()).isEqualTo("completed");

    // The SDK reports workflow metrics every ten seconds; the batch's end comes with the next.
    long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    while (System.nanoTime() < deadline) {
      ExpositionText early = ExpositionText.parse(scrape());
      if (early.sum("batch_gateway_batches_ended_total", Map.of("status", "completed")) >= 1) {
        break;
      }
      Thread.sleep(500);
    }
    String body = scrape();
    Files.writeString(Path.of("target", "metrics-it-scrape.txt"), body);
    ExpositionText text = ExpositionText.parse(body);

    Map<String, MetricsReference.Entry> documented = MetricsReference.read();
    Set<String> undocumented = new TreeSet<>(text.families.keySet());
    undocumented.removeAll(documented.keySet());
    assertThat(undocumented).as("exposed but not in docs/metrics.md").isEmpty();
    Set<String> missing = new TreeSet<>();
    documented.values().stream()
        .filter(MetricsReference.Entry::always)
        .map(MetricsReference.Entry::name)
        .filter(name -> !text.families.containsKey(name))
        .forEach(missing::add);
    assertThat(missing).as("documented as always there but not exposed").isEmpty();
    text.families.forEach(
        (family, type) ->
            assertThat(type).as(family + "'s type").isEqualTo(documented.get(family).type()));
    for (ExpositionText.Sample sample : text.samples) {
      String family = familyOf(sample.name(), text);
      Set<String> labels = new TreeSet<>(sample.labels().keySet());
      labels.removeAll(Set.of("le", "quantile"));
      assertThat(documented.get(family).labels())
          .as("labels of " + sample.name())
          .containsAll(labels);
    }

    assertThat(text.sum("batch_gateway_batches_ended_total", Map.of("status", "completed")))
        .isGreaterThanOrEqualTo(1);
    assertThat(text.sum("batch_gateway_requests_total", Map.of("result", "succeeded")))
        .isGreaterThanOrEqualTo(LINES);
    assertThat(
            text.sum(
                "batch_gateway_inference_requests_total",
                Map.of("pool", "default", "outcome", "success")))
        .isGreaterThanOrEqualTo(LINES);
    assertThat(
            text.sum(
                "batch_gateway_inference_request_duration_seconds_count",
                Map.of("pool", "default")))
        .isGreaterThanOrEqualTo(LINES);
    assertThat(text.sum("batch_gateway_chunks_ended_total", Map.of("outcome", "completed")))
        .isGreaterThanOrEqualTo(1);
    assertThat(text.sum("http_server_responses_total", Map.of("code", "2xx"))).isPositive();

    HttpResponse<String> json = get("/metrics.json");
    assertThat(json.statusCode()).isEqualTo(200);
    assertThat(Api.parse(json.body()).has("gauges")).isTrue();
  }

  private static String familyOf(String sample, ExpositionText text) {
    if (text.families.containsKey(sample)) {
      return sample;
    }
    for (String suffix : new String[] {"_bucket", "_sum", "_count"}) {
      if (sample.endsWith(suffix)) {
        String family = sample.substring(0, sample.length() - suffix.length());
        if (text.families.containsKey(family)) {
          return family;
        }
      }
    }
    throw new AssertionError(sample + " has no family");
  }

  private String scrape() throws Exception {
    HttpResponse<String> response = get("/metrics");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type").orElse(""))
        .startsWith("text/plain")
        .contains("version=0.0.4");
    return response.body();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + APP.getAdminPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
