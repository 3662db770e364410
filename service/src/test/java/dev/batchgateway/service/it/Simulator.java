package dev.batchgateway.service.it;

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
  private final List<String> command;
  private final Path log;
  final String baseUrl;

  private Simulator(Process process, List<String> command, Path log, String baseUrl) {
    this.process = process;
    this.command = command;
    this.log = log;
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
    return start(maxNumSeqs, "50ms", "10ms", log);
  }

  static Simulator start(
      int maxNumSeqs, String timeToFirstToken, String interTokenLatency, Path log)
      throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    return launch(
        List.of(
            binary().toString(),
            "--port",
            String.valueOf(port),
            "--model",
            MODEL,
            "--force-dummy-tokenizer",
            "--max-num-seqs",
            String.valueOf(maxNumSeqs),
            "--time-to-first-token",
            timeToFirstToken,
            "--inter-token-latency",
            interTokenLatency),
        log,
        "http://127.0.0.1:" + port);
  }

  /**
   * An engine that answers each chat request with its last message and no latency, so answers are
   * as large as the prompts; the context window is large enough for prompts of several KiB.
   */
  static Simulator startEcho(int maxNumSeqs, Path log) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    return launch(
        List.of(
            binary().toString(),
            "--port",
            String.valueOf(port),
            "--model",
            MODEL,
            "--force-dummy-tokenizer",
            "--mode",
            "echo",
            "--max-model-len",
            "65536",
            "--max-num-seqs",
            String.valueOf(maxNumSeqs)),
        log,
        "http://127.0.0.1:" + port);
  }

  /** Kills the process at once, as a crash would: its port refuses connections from then on. */
  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor();
  }

  /** The same simulator again, on the same port, after {@link #kill}. */
  Simulator startAgain() throws Exception {
    return launch(command, log, baseUrl);
  }

  private static Simulator launch(List<String> command, Path log, String baseUrl) throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("POD_IP", "127.0.0.1");
    Simulator sim = new Simulator(builder.start(), command, log, baseUrl);
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
