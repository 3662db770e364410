package dev.batchgateway.service.metrics;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.batchgateway.activities.metrics.MetricNames;
import io.dropwizard.lifecycle.Managed;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gauges of the batches that have not ended, read from PostgreSQL every {@code interval} by one
 * query on a background thread (a scrape never waits on the database):
 *
 * <ul>
 *   <li>{@code batch_gateway_batches{status}}: how many batches are in each unfinished status;
 *   <li>{@code batch_gateway_batch_oldest_age_seconds{status}}: how long the oldest of them has
 *       been in that status (0 when there is none): a batch that stays validating, finalizing or
 *       cancelling for long is stuck;
 *   <li>{@code batch_gateway_batches_overdue}: unfinished batches whose completion window ended
 *       more than {@link #OVERDUE_GRACE} ago: their deadline should have ended them.
 * </ul>
 *
 * Every API process reports the same figures; aggregate them with {@code max}, not {@code sum}.
 */
public final class BatchStateGauges implements Managed {
  private static final Logger log = LoggerFactory.getLogger(BatchStateGauges.class);

  /** The unfinished statuses, and the column holding when a batch entered each. */
  static final Map<String, String> ENTERED =
      Map.of(
          "validating", "created_at",
          "in_progress", "in_progress_at",
          "finalizing", "finalizing_at",
          "cancelling", "cancelling_at");

  /** How long past its window an unfinished batch counts as overdue. */
  static final Duration OVERDUE_GRACE = Duration.ofMinutes(15);

  private record Row(long count, long oldestEnteredAt) {}

  private final Jdbi jdbi;
  private final Clock clock;
  private final ScheduledExecutorService executor;
  private final Duration interval;
  private volatile Map<String, Row> byStatus = Map.of();
  private volatile long overdue;

  public BatchStateGauges(
      Jdbi jdbi,
      Clock clock,
      ScheduledExecutorService executor,
      Duration interval,
      MetricRegistry registry) {
    this.jdbi = jdbi;
    this.clock = clock;
    this.executor = executor;
    this.interval = interval;
    for (String status : ENTERED.keySet()) {
      registry.<Gauge<Long>>gauge(
          MetricNames.labeled("batch_gateway_batches", "status", status),
          () -> () -> row(status).count());
      registry.<Gauge<Long>>gauge(
          MetricNames.labeled("batch_gateway_batch_oldest_age_seconds", "status", status),
          () ->
              () -> {
                Row row = row(status);
                return row.count() == 0
                    ? 0L
                    : Math.max(0, clock.instant().getEpochSecond() - row.oldestEnteredAt());
              });
    }
    registry.<Gauge<Long>>gauge("batch_gateway_batches_overdue", () -> () -> overdue);
  }

  private Row row(String status) {
    return byStatus.getOrDefault(status, new Row(0, 0));
  }

  @Override
  public void start() {
    executor.scheduleWithFixedDelay(
        this::refreshQuietly, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void refreshQuietly() {
    try {
      refresh();
    } catch (RuntimeException e) {
      log.warn("Cannot read the batches' states for the metrics: {}", e.toString());
    }
  }

  /** Reads the figures now. */
  void refresh() {
    StringBuilder entered = new StringBuilder("CASE status");
    ENTERED.forEach(
        (status, column) ->
            entered.append(" WHEN '").append(status).append("' THEN ").append(column));
    entered.append(" END");
    long now = clock.instant().getEpochSecond();
    List<Map<String, Object>> rows =
        jdbi.withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT status, count(*) AS n, min("
                            + entered
                            + ") AS oldest,"
                            + " sum(CASE WHEN expires_at < :overdueBefore THEN 1 ELSE 0 END)"
                            + " AS overdue FROM batches"
                            + " WHERE work_purged_at IS NULL AND status IN (<statuses>)"
                            + " GROUP BY status")
                    .bind("overdueBefore", now - OVERDUE_GRACE.toSeconds())
                    .bindList("statuses", List.copyOf(ENTERED.keySet()))
                    .mapToMap()
                    .list());
    Map<String, Row> read = new HashMap<>();
    long late = 0;
    for (Map<String, Object> row : rows) {
      long count = ((Number) row.get("n")).longValue();
      Object oldest = row.get("oldest");
      read.put(
          (String) row.get("status"),
          new Row(count, oldest == null ? now : ((Number) oldest).longValue()));
      Object overdueCount = row.get("overdue");
      late += overdueCount == null ? 0 : ((Number) overdueCount).longValue();
    }
    byStatus = Map.copyOf(read);
    overdue = late;
  }

  @Override
  public void stop() {}
}
