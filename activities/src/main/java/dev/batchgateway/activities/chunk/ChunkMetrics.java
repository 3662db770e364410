package dev.batchgateway.activities.chunk;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.metrics.BucketHistogram;
import dev.batchgateway.activities.metrics.MetricNames;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Chunk attempts in this worker: {@code batch_gateway_chunks_running}, {@code
 * batch_gateway_chunks_ended_total{outcome}} and {@code batch_gateway_chunk_duration_seconds}.
 */
final class ChunkMetrics {
  /** How a chunk attempt ended. */
  enum Ending {
    /** Every line has its result. */
    COMPLETED,
    /** The batch was cancelled or expired; what finished is saved. */
    STOPPED,
    /** The worker shut down; the rest of the lines go to another worker. */
    DRAINED,
    /** An exception: Temporal retries the attempt. */
    ERROR;

    final String label = name().toLowerCase(Locale.ROOT);
  }

  /** Shared by every runner on one registry. */
  private static final class Running implements Gauge<Integer> {
    final AtomicInteger count = new AtomicInteger();

    @Override
    public Integer getValue() {
      return count.get();
    }
  }

  final AtomicInteger running;
  private final Counter[] ended = new Counter[Ending.values().length];
  private final BucketHistogram duration;

  ChunkMetrics(MetricRegistry registry) {
    running = registry.gauge("batch_gateway_chunks_running", Running::new).count;
    for (Ending ending : Ending.values()) {
      ended[ending.ordinal()] =
          registry.counter(
              MetricNames.labeled("batch_gateway_chunks_ended_total", "outcome", ending.label));
    }
    duration =
        BucketHistogram.registerNanos(
            registry, "batch_gateway_chunk_duration_seconds", BucketHistogram.WAIT_SECONDS);
  }

  void ended(Ending ending, long nanos) {
    ended[ending.ordinal()].inc();
    duration.observe(nanos);
  }
}
