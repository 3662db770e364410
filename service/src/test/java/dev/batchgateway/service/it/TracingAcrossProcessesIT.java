package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

/**
 * An API process and a worker process, as production runs them, each posting its spans over OTLP to
 * a collector the test runs: the batch the API started is traced on in the worker, in the same
 * trace, with the context carried only by Temporal.
 */
class TracingAcrossProcessesIT {
  private static final String TENANT = TestStack.uniqueTenant("tracing-split");
  private static final String KEY = "sk-tracing-split";

  /** What the collector received: one OTLP protobuf body per export. */
  private final ConcurrentLinkedQueue<String> exports = new ConcurrentLinkedQueue<>();

  @Test
  void theWorkerProcessContinuesTheTraceTheApiProcessStarted() throws Exception {
    HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext(
        "/v1/traces",
        exchange -> {
          if ("application/x-protobuf"
              .equals(exchange.getRequestHeaders().getFirst("Content-Type"))) {
            exports.add(
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.ISO_8859_1));
          }
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    collector.start();
    String files = Files.createTempDirectory("bgw-tracing-split-") + "/files";
    String traceId = "0af7651916cd43dd8448eb211c80319c";
    String batchId;
    try (GatewayProcess api = start("api", collector, files);
        GatewayProcess worker = start("worker", collector, files)) {
      api.awaitHealthy(Duration.ofMinutes(2));
      worker.awaitHealthy(Duration.ofMinutes(2));
      Api client = new Api(api.httpPort, KEY);
      String fileId = client.uploadBatchFile(Lines.chatFile(10, 2, TestStack.model()));
      HttpResponse<String> created =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + api.httpPort + "/v1/batches"))
                      .header("Authorization", "Bearer " + KEY)
                      .header("Content-Type", "application/json")
                      .header("traceparent", "00-" + traceId + "-b7ad6b7169203331-01")
                      .POST(
                          HttpRequest.BodyPublishers.ofString(
                              "{\"input_file_id\":\""
                                  + fileId
                                  + "\",\"endpoint\":\"/v1/chat/completions\","
                                  + "\"completion_window\":\"24h\"}"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
      batchId = Api.json(created).get("id").asText();
      JsonNode batch = client.awaitTerminal(batchId, Duration.ofMinutes(2));
      assertThat(batch.get("status").asText()).isEqualTo("completed");
    } finally {
      // Closing stops both processes, which send the spans still queued first.
      collector.stop(0);
    }

    String trace = new String(HexFormat.of().parseHex(traceId), StandardCharsets.ISO_8859_1);
    List<String> ofTheBatch = exports.stream().filter(body -> body.contains(trace)).toList();
    assertThat(ofTheBatch).as("exports holding the batch's trace").isNotEmpty();
    // A process's batch span processor exports what is queued every few seconds, so one
    // process's spans of the trace may come in several exports: each side is checked on all of
    // its exports together. Only the worker's exports name the role "worker".
    String fromTheWorker =
        String.join("\n", ofTheBatch.stream().filter(body -> body.contains("worker")).toList());
    String fromTheApi =
        String.join("\n", ofTheBatch.stream().filter(body -> !body.contains("worker")).toList());
    assertThat(fromTheApi)
        .as("the API process's exports of the trace")
        .contains("batch_gateway.role", "api", "POST /v1/batches", batchId)
        .contains("StartWorkflow:BatchWorkflow");
    assertThat(fromTheWorker)
        .as("the worker process's exports of the trace")
        .contains("batch_gateway.role", "worker")
        .contains("RunWorkflow:BatchWorkflow", "RunActivity:RunChunk")
        .contains("POST /v1/chat/completions", "batch_gateway.endpoint");
  }

  private static GatewayProcess start(String role, HttpServer collector, String files)
      throws Exception {
    Map<String, String> config = new LinkedHashMap<>();
    config.put("database.url", TestStack.env("BGW_TEST_DB_URL"));
    config.put("database.user", TestStack.env("BGW_TEST_DB_USER"));
    config.put("database.password", TestStack.env("BGW_TEST_DB_PASSWORD"));
    config.put("temporal.target", TestStack.env("BGW_TEST_TEMPORAL"));
    config.put("inference.url", TestStack.env("BGW_TEST_INFERENCE_URL"));
    config.put("limiter.type", "local");
    config.put("capacity.mode", "fixed");
    config.put("apiKeys", KEY + ":" + TENANT);
    config.put("logging.level", "WARN");
    config.put("files.root", files);
    config.put("tracing.otlpEndpoint", "http://127.0.0.1:" + collector.getAddress().getPort());
    return GatewayProcess.start(role, 512L << 20, config);
  }
}
