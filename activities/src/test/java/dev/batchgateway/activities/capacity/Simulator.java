package dev.batchgateway.activities.capacity;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** An llm-d-inference-sim process on a free loopback port, from {@code .tools/bin}. */
final class Simulator implements AutoCloseable {
  static final String MODEL = "Qwen/Qwen3-0.6B";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final Process process;
  final String baseUrl;

  private Simulator(Process process, String baseUrl) {
    this.process = process;
    this.baseUrl = baseUrl;
  }

  /**
   * The binary, looked for from the module directory up; null when {@code make tools} has not run.
   */
  static Path binary() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(".tools/bin/llm-d-inference-sim");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  static Simulator start(int maxNumSeqs, Path log) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    ProcessBuilder builder =
        new ProcessBuilder(
                binary().toString(),
                "--port",
                String.valueOf(port),
                "--model",
                MODEL,
                "--force-dummy-tokenizer",
                "--max-num-seqs",
                String.valueOf(maxNumSeqs),
                "--time-to-first-token",
                "50ms",
                "--inter-token-latency",
                "10ms")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    builder.environment().put("POD_IP", "127.0.0.1");
    Simulator sim = new Simulator(builder.start(), "http://127.0.0.1:" + port);
    for (int i = 0; i < 200; i++) {
      try {
        if (HTTP.send(
                    HttpRequest.newBuilder(URI.create(sim.baseUrl + "/v1/models")).build(),
                    HttpResponse.BodyHandlers.discarding())
                .statusCode()
            == 200) {
          return sim;
        }
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    sim.close();
    throw new IllegalStateException("simulator did not start; see " + log);
  }

  /** Sends {@code count} chat requests straight to the engine, each ~{@code tokens} tokens long. */
  List<CompletableFuture<HttpResponse<Void>>> interactive(int count, int tokens) {
    String body =
        "{\"model\":\""
            + MODEL
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":"
            + tokens
            + ",\"ignore_eos\":true}";
    List<CompletableFuture<HttpResponse<Void>>> calls = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      calls.add(
          HTTP.sendAsync(
              HttpRequest.newBuilder(URI.create(baseUrl + "/v1/chat/completions"))
                  .header("content-type", "application/json")
                  .timeout(Duration.ofSeconds(30))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.discarding()));
    }
    return calls;
  }

  @Override
  public void close() {
    process.destroy();
  }
}
