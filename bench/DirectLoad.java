// Baseline for the overhead scenario: the same request bodies sent straight to the
// inference server, with the gateway's HTTP stack (java.net.http, HTTP/1.1, async) and the
// gateway's total concurrency, but nothing else: no planning, no parsing of answers, no
// segments, no Temporal, no database. What this reaches is the ceiling the machine and the
// simulator leave for a gateway; its CPU per request is the floor of sending one request.
//
//   java bench/DirectLoad.java URL BODIES_FILE CONCURRENCY PASSES
//
// BODIES_FILE holds one JSON request body per line. Prints one JSON object per pass.

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

public class DirectLoad {
  public static void main(String[] args) throws Exception {
    URI uri = URI.create(args[0] + "/v1/chat/completions");
    List<byte[]> bodies =
        Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8).stream()
            .filter(l -> !l.isBlank())
            .map(l -> l.getBytes(StandardCharsets.UTF_8))
            .toList();
    int concurrency = Integer.parseInt(args[2]);
    int passes = Integer.parseInt(args[3]);
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (int pass = 1; pass <= passes; pass++) {
      Semaphore slots = new Semaphore(concurrency);
      AtomicLong ok = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      long cpuBefore = os.getProcessCpuTime();
      long start = System.nanoTime();
      for (byte[] body : bodies) {
        slots.acquire();
        HttpRequest request =
            HttpRequest.newBuilder(uri)
                .timeout(Duration.ofMinutes(2))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
            .whenComplete(
                (response, error) -> {
                  if (error == null && response.statusCode() == 200) {
                    ok.incrementAndGet();
                  } else {
                    failed.incrementAndGet();
                  }
                  slots.release();
                });
      }
      if (!slots.tryAcquire(concurrency, 10, TimeUnit.MINUTES)) {
        throw new IllegalStateException("requests still in flight after 10 minutes");
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double cpu = (os.getProcessCpuTime() - cpuBefore) / 1e9;
      System.out.printf(
          "{\"pass\": %d, \"requests\": %d, \"ok\": %d, \"failed\": %d, \"wall_seconds\": %.3f,"
              + " \"requests_per_second\": %.1f, \"client_cpu_seconds\": %.3f,"
              + " \"client_cpu_us_per_request\": %.1f}%n",
          pass,
          bodies.size(),
          ok.get(),
          failed.get(),
          seconds,
          bodies.size() / seconds,
          cpu,
          cpu * 1e6 / bodies.size());
    }
  }
}
