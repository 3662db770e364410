package dev.batchgateway.service.limiter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;

/**
 * The done-when: three worker processes share one pool through a real Redis, the simulator
 * never holds more requests than the pool has permits, and the permits of a worker killed with
 * SIGKILL come back within one lease. Each worker is a child JVM running {@link LimiterWorker} (the
 * production limiter); the simulator is a real llm-d-inference-sim started here so that its counts
 * hold nothing but this test's requests.
 */
class ThreeWorkersShareOnePoolIT {
  private static final int PERMITS = 12;
  private static final int WORKERS = 3;
  private static final int LOOPS_PER_WORKER = 8;
  private static final Duration LEASE = Duration.ofSeconds(3);
  private static final Duration LOAD = Duration.ofSeconds(8);
  private static final Pattern GAUGE =
      Pattern.compile(
          "^vllm:num_requests_(running|waiting)\\{[^}]*} ([0-9.]+)$", Pattern.MULTILINE);

  private final List<Process> processes = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void stopEverything() throws InterruptedException {
    for (Process process : processes) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** A child worker: its stdout lines, and a way to send it commands. */
  private record Worker(Process process, BlockingQueue<String> lines, Writer commands) {
    String await(String prefix, Duration within) throws InterruptedException {
      long deadline = System.nanoTime() + within.toNanos();
      while (true) {
        String line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        assertThat(line).as("worker said %s... within %s", prefix, within).isNotNull();
        if (line.startsWith(prefix)) {
          return line;
        }
      }
    }

    void send(String command) throws IOException {
      commands.write(command + "\n");
      commands.flush();
    }
  }

  @Test
  void threeWorkersNeverExceedThePermitsAndAKilledWorkersPermitsComeBack() throws Exception {
    String redisUrl = TestRedis.url();
    String pool = TestRedis.uniquePool("workers");
    String model = System.getenv().getOrDefault("BGW_TEST_MODEL", "Qwen/Qwen3-0.6B");
    String simUrl = startSimulator(model);

    List<Worker> workers = new ArrayList<>();
    for (int i = 0; i < WORKERS; i++) {
      workers.add(startWorker(redisUrl, pool, simUrl, model));
    }
    for (Worker worker : workers) {
      worker.await("working", Duration.ofSeconds(60));
    }

    RedissonClient client = TestRedis.client(redisUrl);
    try (RedissonConcurrencyLimiter observer =
        new RedissonConcurrencyLimiter(client, PERMITS, LEASE)) {
      int maxAtSimulator = 0;
      int maxHeld = 0;
      int samples = 0;
      long loadEnds = System.nanoTime() + LOAD.toNanos();
      while (System.nanoTime() < loadEnds) {
        maxAtSimulator = Math.max(maxAtSimulator, requestsAtSimulator(simUrl));
        maxHeld = Math.max(maxHeld, observer.inFlight(pool));
        samples++;
        Thread.sleep(20);
      }
      System.out.printf(
          "three workers, %d permits, %d request loops, %d samples: at most %d permits held,"
              + " at most %d requests at the simulator%n",
          PERMITS, WORKERS * LOOPS_PER_WORKER, samples, maxHeld, maxAtSimulator);
      assertThat(maxAtSimulator).as("requests held by the simulator").isLessThanOrEqualTo(PERMITS);
      assertThat(maxAtSimulator).as("requests reached the simulator").isPositive();
      assertThat(maxHeld)
          .as("demand exceeds the permits, or the bound proves nothing")
          .isEqualTo(PERMITS);

      // The other two stop taking permits, so what is held after the kill is the killed one's.
      workers.get(1).send("pause");
      workers.get(2).send("pause");
      workers.get(1).await("drained", Duration.ofSeconds(30));
      workers.get(2).await("drained", Duration.ofSeconds(30));
      workers.get(0).process().destroyForcibly();
      long killedAt = System.nanoTime();
      int leaked = observer.inFlight(pool);
      assertThat(leaked).as("permits the killed worker held").isPositive();

      long deadline = killedAt + LEASE.plusMillis(1500).toNanos();
      while (observer.available(pool) < PERMITS && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      long backAfter = (System.nanoTime() - killedAt) / 1_000_000;
      System.out.printf(
          "SIGKILLed worker held %d permits; all %d back %d ms after the kill (lease %d ms)%n",
          leaked, PERMITS, backAfter, LEASE.toMillis());
      assertThat(observer.available(pool)).isEqualTo(PERMITS);
      assertThat(observer.inFlight(pool)).isZero();
      assertThat(backAfter).isLessThanOrEqualTo(LEASE.toMillis() + 1500);
    } finally {
      client.shutdown();
    }
  }

  private Worker startWorker(String redisUrl, String pool, String simUrl, String model)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process =
        new ProcessBuilder(
                java,
                "-Xmx128m",
                "-cp",
                System.getProperty("java.class.path"),
                LimiterWorker.class.getName(),
                redisUrl,
                pool,
                Integer.toString(PERMITS),
                Long.toString(LEASE.toMillis()),
                simUrl,
                model,
                Integer.toString(LOOPS_PER_WORKER))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    processes.add(process);
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (BufferedReader out =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                  lines.add(line);
                }
              } catch (IOException e) {
                // the worker is gone
              }
            });
    return new Worker(
        process, lines, new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
  }

  /** Requests the simulator holds now: running plus waiting. */
  private int requestsAtSimulator(String simUrl) throws IOException, InterruptedException {
    String metrics =
        http.send(
                HttpRequest.newBuilder(URI.create(simUrl + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    int held = 0;
    Matcher gauge = GAUGE.matcher(metrics);
    while (gauge.find()) {
      held += (int) Double.parseDouble(gauge.group(2));
    }
    return held;
  }

  private String startSimulator(String model) throws Exception {
    Path binary = simulatorBinary();
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    ProcessBuilder builder =
        new ProcessBuilder(
                binary.toString(),
                "--port",
                Integer.toString(port),
                "--model",
                model,
                "--force-dummy-tokenizer",
                "--max-num-seqs",
                "64",
                "--time-to-first-token",
                "50ms",
                "--inter-token-latency",
                "5ms")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.environment().put("POD_IP", "127.0.0.1");
    processes.add(builder.start());
    String url = "http://127.0.0.1:" + port;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        if (http.send(
                    HttpRequest.newBuilder(URI.create(url + "/v1/models")).build(),
                    HttpResponse.BodyHandlers.discarding())
                .statusCode()
            == 200) {
          return url;
        }
      } catch (IOException notYet) {
        assertThat(System.nanoTime()).as("the simulator starts").isLessThan(deadline);
      }
      Thread.sleep(100);
    }
  }

  /** {@code .tools/bin/llm-d-inference-sim} of this checkout, which {@code make test} builds. */
  private static Path simulatorBinary() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path binary = dir.resolve(".tools/bin/llm-d-inference-sim");
      if (Files.isExecutable(binary)) {
        return binary;
      }
    }
    throw new IllegalStateException(
        "llm-d-inference-sim not found in .tools/bin: run `make tools` (make test does)");
  }
}
