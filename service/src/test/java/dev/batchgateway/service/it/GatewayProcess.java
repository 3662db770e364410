package dev.batchgateway.service.it;

import dev.batchgateway.service.BatchGatewayApplication;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A gateway in a JVM of its own, started as production starts it ({@code
 * -XX:+ExitOnOutOfMemoryError}, a role, {@code config/gateway.yml}), for tests that need its heap
 * size or its death to be real. Configuration is overridden with {@code -Ddw.<key>=<value>}; output
 * goes to a log file.
 */
final class GatewayProcess implements AutoCloseable {
  final Process process;
  final int httpPort;
  final int adminPort;
  final Path log;

  private GatewayProcess(Process process, int httpPort, int adminPort, Path log) {
    this.process = process;
    this.httpPort = httpPort;
    this.adminPort = adminPort;
    this.log = log;
  }

  static GatewayProcess start(String role, long heapBytes, Map<String, String> config)
      throws IOException {
    return start(role, heapBytes, config, Path.of("config/gateway.yml"), Map.of());
  }

  /**
   * As {@link #start(String, long, Map)}, from another configuration file, with {@code env} set.
   */
  static GatewayProcess start(
      String role,
      long heapBytes,
      Map<String, String> config,
      Path configFile,
      Map<String, String> env)
      throws IOException {
    int http = freePort();
    int admin = freePort();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx" + (heapBytes >> 20) + "m");
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("-Ddw.server.applicationConnectors[0].port=" + http);
    command.add("-Ddw.server.adminConnectors[0].port=" + admin);
    config.forEach((key, value) -> command.add("-Ddw." + key + "=" + value));
    command.add(BatchGatewayApplication.class.getName());
    command.add(role);
    command.add(configFile.toString());
    Path log = Files.createTempFile("bgw-" + role + "-", ".log");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(env);
    Process process = builder.start();
    return new GatewayProcess(process, http, admin, log);
  }

  /** Waits for {@code /healthcheck} to answer 200; fails with the log's end if the JVM died. */
  GatewayProcess awaitHealthy(Duration timeout) throws IOException, InterruptedException {
    HttpClient client = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("The gateway exited with " + process.exitValue() + ":\n" + tail());
      }
      try {
        HttpResponse<Void> response =
            client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthcheck"))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() == 200) {
          return this;
        }
      } catch (IOException notYet) {
        // still starting
      }
      Thread.sleep(250);
    }
    throw new AssertionError("The gateway was not healthy after " + timeout + ":\n" + tail());
  }

  /** The last lines of the log. */
  String tail() throws IOException {
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
