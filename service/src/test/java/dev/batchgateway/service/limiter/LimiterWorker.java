package dev.batchgateway.service.limiter;

import dev.batchgateway.activities.port.ConcurrencyLimiter.Permit;
import dev.batchgateway.activities.port.PermitRequest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.redisson.api.RedissonClient;

/**
 * One worker process of {@link ThreeWorkersShareOnePoolIT}: the production {@link
 * RedissonConcurrencyLimiter} on a shared Redis, and {@code loops} request loops that each send a
 * chat completion to the simulator only while holding a permit. Reads {@code pause} from stdin
 * (stop taking permits, finish what is in flight, print {@code drained}); prints {@code working}
 * after its first answered request.
 *
 * <p>Arguments: redis URL, pool, initial permits, lease in ms, simulator URL, model, loops.
 */
public final class LimiterWorker {
  private static volatile boolean paused;

  private LimiterWorker() {}

  private static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    String redisUrl = args[0];
    String pool = args[1];
    int permits = Integer.parseInt(args[2]);
    Duration lease = Duration.ofMillis(Long.parseLong(args[3]));
    URI completions = URI.create(args[4] + "/v1/chat/completions");
    String model = args[5];
    int loops = Integer.parseInt(args[6]);

    RedissonClient client = TestRedis.client(redisUrl);
    RedissonConcurrencyLimiter limiter = new RedissonConcurrencyLimiter(client, permits, lease);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    String body =
        "{\"model\":\""
            + model
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],"
            + "\"max_tokens\":30,\"ignore_eos\":true}";
    HttpRequest request =
        HttpRequest.newBuilder(completions)
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    PermitRequest ask = new PermitRequest(pool, "tenant", "batch_workers", 0, 0);

    AtomicBoolean working = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < loops; i++) {
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (!paused) {
                      try {
                        Permit permit = limiter.acquire(ask, Duration.ofMillis(500)).orElse(null);
                        if (permit == null) {
                          continue;
                        }
                        long started = System.nanoTime();
                        try {
                          HttpResponse<Void> response =
                              http.send(request, HttpResponse.BodyHandlers.discarding());
                          if (response.statusCode() == 200) {
                            permit.onSuccess(System.nanoTime() - started);
                            if (working.compareAndSet(false, true)) {
                              say("working");
                            }
                          } else {
                            permit.onDropped();
                          }
                        } catch (java.io.IOException e) {
                          permit.onDropped();
                        }
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  }));
    }

    BufferedReader commands =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String command;
    while ((command = commands.readLine()) != null) {
      if (command.equals("pause")) {
        paused = true;
        for (Thread thread : threads) {
          thread.join();
        }
        while (limiter.held() > 0) {
          Thread.sleep(10);
        }
        say("drained " + limiter.outcomes(pool).succeeded());
      }
    }
    limiter.close();
    client.shutdown();
  }
}
