// The gateway's inference client alone, with either transport (inference.client netty or
// jdk): the requests of the overhead scenario sent through HttpInferenceClient with 128 in
// flight and nothing else (no chunk, no Temporal, no database). Each pass prints its
// throughput and the JVM's CPU time per request (JIT and GC included); the last pass is the
// warm one. Run with the gateway's jar on the class path:
//
//   java -cp service/target/batch-gateway.jar bench/TransportLoad.java CLIENT URL REQUESTS [PASSES]
//
// against a simulator started as the overhead scenario starts it (--max-num-seqs 512).

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.batchgateway.activities.port.InferenceRequest;
import dev.batchgateway.activities.port.PoolRetry;
import dev.batchgateway.service.inference.HttpInferenceClient;
import dev.batchgateway.service.inference.InferenceSettings;
import io.dropwizard.jackson.Jackson;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

public class TransportLoad {
  private static final String MODEL = "Qwen/Qwen3-0.6B";
  private static final int IN_FLIGHT = 128;

  public static void main(String[] args) throws Exception {
    String yaml = "client: %s\nurl: %s\nmodels: %s\n".formatted(args[0], args[1], MODEL);
    int requests = Integer.parseInt(args[2]);
    int passes = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    InferenceSettings settings =
        Jackson.newObjectMapper(new YAMLFactory()).readValue(yaml, InferenceSettings.class);
    byte[] body =
        ("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":"
                + "\"Say hello to the batch gateway benchmark\"}],\"max_tokens\":8}")
            .getBytes(StandardCharsets.UTF_8);
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (HttpInferenceClient client =
        new HttpInferenceClient(
            settings,
            new PoolRetry(1, Duration.ofMillis(1), Duration.ofMillis(1)),
            new ObjectMapper(),
            Clock.systemUTC(),
            System::getenv)) {
      for (int pass = 1; pass <= passes; pass++) {
        Semaphore slots = new Semaphore(IN_FLIGHT);
        AtomicInteger answered = new AtomicInteger();
        long cpuStart = os.getProcessCpuTime();
        long start = System.nanoTime();
        for (int i = 0; i < requests; i++) {
          slots.acquire();
          client
              .send(new InferenceRequest(MODEL, "/v1/chat/completions", body, Map.of()))
              .whenComplete(
                  (response, error) -> {
                    if (error == null && response.statusCode() == 200) {
                      answered.incrementAndGet();
                    }
                    slots.release();
                  });
        }
        slots.acquire(IN_FLIGHT);
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuMicros = (os.getProcessCpuTime() - cpuStart) / 1e3;
        System.out.printf(
            "{\"client\":\"%s\",\"pass\":%d,\"answered\":%d,\"requests_per_second\":%.0f,"
                + "\"cpu_us_per_request\":%.1f}%n",
            args[0], pass, answered.get(), requests / seconds, cpuMicros / requests);
      }
    }
  }
}
