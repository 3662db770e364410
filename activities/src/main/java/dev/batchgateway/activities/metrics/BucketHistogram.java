package dev.batchgateway.activities.metrics;

import com.codahale.metrics.Counting;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * A histogram with fixed bucket bounds, as Prometheus aggregates them across processes: each
 * observation adds one to the first bucket whose upper bound it does not exceed, and to the sum. An
 * observation is a binary search over a dozen bounds and two {@link LongAdder} increments, cheap
 * enough for every inference request (a Dropwizard {@code Timer} takes a lock in its reservoir).
 * Values are kept in nanoseconds or plain units and exposed in seconds or those units.
 *
 * <p>It is a {@link Gauge} of its count to Dropwizard: a registry with listeners (the JMX reporter
 * Dropwizard starts) refuses metric types it does not know. The admin port's Prometheus exposition
 * knows it and writes its buckets.
 */
public final class BucketHistogram implements Gauge<Long>, Counting {
  /** Bounds for request latencies, in seconds. */
  public static final double[] LATENCY_SECONDS = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300
  };

  /** Bounds for waits that may last from milliseconds to hours, in seconds. */
  public static final double[] WAIT_SECONDS = {
    0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400
  };

  private final double[] bounds;
  private final long[] scaledBounds;
  private final double divisor;
  private final LongAdder[] counts;
  private final LongAdder sum = new LongAdder();

  private BucketHistogram(double[] bounds, double divisor) {
    for (int i = 1; i < bounds.length; i++) {
      if (bounds[i] <= bounds[i - 1]) {
        throw new IllegalArgumentException("bucket bounds must increase");
      }
    }
    this.bounds = bounds.clone();
    this.divisor = divisor;
    this.scaledBounds = new long[bounds.length];
    for (int i = 0; i < bounds.length; i++) {
      scaledBounds[i] = (long) Math.floor(bounds[i] * divisor);
    }
    this.counts = new LongAdder[bounds.length + 1];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = new LongAdder();
    }
  }

  /** Observations in nanoseconds, bounds and exposition in seconds. */
  public static BucketHistogram ofNanos(double[] boundsSeconds) {
    return new BucketHistogram(boundsSeconds, 1e9);
  }

  /** Observations, bounds and exposition in the same unit. */
  public static BucketHistogram of(double[] bounds) {
    return new BucketHistogram(bounds, 1);
  }

  /**
   * The histogram registered under {@code name}, in nanoseconds, registered now if it is not yet:
   * two components (or two runners in a test) that ask for one name share it.
   */
  public static BucketHistogram registerNanos(
      MetricRegistry registry, String name, double[] boundsSeconds) {
    synchronized (registry) {
      if (registry.getMetrics().get(name) instanceof BucketHistogram existing) {
        return existing;
      }
      return registry.register(name, ofNanos(boundsSeconds));
    }
  }

  /** Records one observation, in nanoseconds for {@link #ofNanos}. */
  public void observe(long value) {
    int index = Arrays.binarySearch(scaledBounds, value);
    if (index < 0) {
      index = -index - 1;
    }
    counts[index].increment();
    sum.add(value);
  }

  /** Upper bounds of the finite buckets, in the exposed unit. */
  public double[] bounds() {
    return bounds.clone();
  }

  /** Cumulative counts: element i counts observations up to bounds()[i]; the last is +Inf. */
  public long[] cumulativeCounts() {
    long[] cumulative = new long[counts.length];
    long running = 0;
    for (int i = 0; i < counts.length; i++) {
      running += counts[i].sum();
      cumulative[i] = running;
    }
    return cumulative;
  }

  /** The sum of every observation, in the exposed unit. */
  public double sum() {
    return sum.sum() / divisor;
  }

  /** The count, for Dropwizard's JSON and JMX. */
  @Override
  public Long getValue() {
    return getCount();
  }

  @Override
  public long getCount() {
    long total = 0;
    for (LongAdder count : counts) {
      total += count.sum();
    }
    return total;
  }
}
