package dev.batchgateway.service;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.activities.BatchSettings;
import dev.batchgateway.activities.OutageSettings;
import dev.batchgateway.activities.limiter.SharingSettings;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.DataSizeUnit;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MaxDataSize;
import io.dropwizard.validation.MinDataSize;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.util.LinkedHashMap;
import java.util.Map;

/** Limits and tunables of files and batches. */
public class BatchLimits {
  /** Largest upload of any purpose. */
  @NotNull @JsonProperty private DataSize maxFileSize = DataSize.megabytes(512);

  /** Largest upload with purpose {@code batch}. */
  @NotNull @JsonProperty private DataSize maxBatchFileSize = DataSize.megabytes(200);

  /** Completion windows a batch may ask for, by name, for example {@code 24h: 24 hours}. */
  @NotEmpty @JsonProperty
  private Map<String, Duration> completionWindows =
      new LinkedHashMap<>(Map.of("24h", Duration.hours(24)));

  /**
   * More completion windows, comma-separated durations such as {@code 30m,2h}, each named as
   * written ({@code BGW_COMPLETION_WINDOWS}); for deployments and benchmarks that want deadlines
   * shorter than a day. The OpenAI API itself only knows {@code 24h}.
   */
  @NotNull @JsonProperty private String extraCompletionWindows = "";

  @Min(1)
  @JsonProperty
  private int maxRequests = 50_000;

  @Min(1)
  @JsonProperty
  private int chunkLines = 2000;

  @Min(1)
  @JsonProperty
  private int segmentLines = 50;

  @Min(1)
  @JsonProperty
  private int parallelChunks = 4;

  @Min(1)
  @JsonProperty
  private int chunkConcurrency = 32;

  @Min(1)
  @JsonProperty
  private int maxAttempts = 5;

  @NotNull @JsonProperty private Duration initialBackoff = Duration.milliseconds(500);
  @NotNull @JsonProperty private Duration maxBackoff = Duration.seconds(30);

  /**
   * Requests to an inference pool that cannot be reached are retried until the batch's deadline
   * minus this, which is left for finalizing; then they fail as {@code backend_unreachable}.
   */
  @NotNull @JsonProperty private Duration deadlineReserve = Duration.minutes(5);

  /** Connection failures in a row that open a pool's circuit: dispatch to the pool pauses. */
  @Min(1)
  @JsonProperty
  private int circuitFailures = 5;

  /** How often an open circuit lets one request through to probe the pool. */
  @NotNull @JsonProperty private Duration circuitProbeInterval = Duration.seconds(1);

  @Min(1)
  @JsonProperty
  private int maxReportedErrors = 1000;

  /** Longest input line; a longer one fails validation with {@code line_too_large}. */
  @NotNull
  @MinDataSize(value = 1, unit = DataSizeUnit.KIBIBYTES)
  @MaxDataSize(value = 1, unit = DataSizeUnit.GIBIBYTES)
  @JsonProperty
  private DataSize maxLineSize = DataSize.mebibytes(2);

  /** Deepest nesting of arrays and objects in an input line ({@code json_too_deep} beyond). */
  @Min(4)
  @JsonProperty
  private int maxJsonDepth = 128;

  /** Most input bytes one chunk holds in memory; chunks end at this or at chunkLines. */
  @NotNull @JsonProperty private DataSize chunkBytes = DataSize.mebibytes(16);

  /**
   * Longest answer read from an inference server. A longer one is cut off and its line fails with
   * {@code response_too_large}, not retried.
   */
  @NotNull
  @MinDataSize(value = 1, unit = DataSizeUnit.KIBIBYTES)
  @MaxDataSize(value = 1, unit = DataSizeUnit.GIBIBYTES)
  @JsonProperty
  private DataSize maxResponseSize = DataSize.mebibytes(16);

  @Min(0)
  @JsonProperty
  private int completionPrefixChars = 256;

  /** Whether batches order their lines by prompt prefix unless they say otherwise. */
  @JsonProperty private boolean sortByPrefix = true;

  /** Lowest priority a batch can have; a lower one asked for is raised to it. */
  @JsonProperty private int minPriority = -100;

  /** Highest priority a batch can have; a higher one asked for is lowered to it. */
  @JsonProperty private int maxPriority = 100;

  /**
   * Highest priority each listed tenant may ask for, by tenant; asking for more is refused with a
   * 400. Tenants not listed may use the whole range.
   */
  @NotNull @JsonProperty private Map<String, Integer> tenantMaxPriority = new LinkedHashMap<>();

  /** Share of a pool's permits every running batch keeps, however low its priority. */
  @DecimalMin("0")
  @DecimalMax("1")
  @JsonProperty
  private double minShare = 0.05;

  /**
   * A batch is reported at risk when, at its rate so far, it needs more than this fraction of the
   * time left in its window.
   */
  @DecimalMin("0.01")
  @DecimalMax("1")
  @JsonProperty
  private double atRiskSafety = 0.8;

  /** How long a batch runs before its rate is trusted to judge whether it is at risk. */
  @NotNull @JsonProperty private Duration atRiskAfter = Duration.minutes(1);

  public long maxFileBytes() {
    return maxFileSize.toBytes();
  }

  public long maxBatchFileBytes() {
    return maxBatchFileSize.toBytes();
  }

  public Map<String, Duration> getCompletionWindows() {
    Map<String, Duration> windows = new LinkedHashMap<>(completionWindows);
    windows.putAll(parseWindows(extraCompletionWindows));
    return windows;
  }

  @JsonIgnore
  @AssertTrue(
      message = "extraCompletionWindows must be comma-separated positive durations such as 30m,2h")
  public boolean isExtraCompletionWindowsValid() {
    try {
      parseWindows(extraCompletionWindows);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static Map<String, Duration> parseWindows(String list) {
    Map<String, Duration> windows = new LinkedHashMap<>();
    for (String name : list.split(",")) {
      String trimmed = name.strip();
      if (trimmed.isEmpty()) {
        continue;
      }
      Duration window = Duration.parse(trimmed);
      if (window.toSeconds() <= 0) {
        throw new IllegalArgumentException("window must be at least a second: " + trimmed);
      }
      windows.put(trimmed, window);
    }
    return windows;
  }

  public int getParallelChunks() {
    return parallelChunks;
  }

  public boolean isSortByPrefix() {
    return sortByPrefix;
  }

  public int getMinPriority() {
    return minPriority;
  }

  public int getMaxPriority() {
    return maxPriority;
  }

  public Map<String, Integer> getTenantMaxPriority() {
    return tenantMaxPriority;
  }

  @JsonIgnore
  @AssertTrue(message = "chunkBytes must be at least maxLineSize, so that every line fits a chunk")
  public boolean isChunkBytesValid() {
    return chunkBytes.toBytes() >= maxLineSize.toBytes();
  }

  @JsonIgnore
  @AssertTrue(message = "minPriority must not exceed maxPriority")
  public boolean isPriorityRangeValid() {
    return minPriority <= maxPriority;
  }

  public SharingSettings toSharing() {
    SharingSettings defaults = SharingSettings.defaults();
    return new SharingSettings(
        minPriority,
        maxPriority,
        defaults.priorityStep(),
        minShare,
        atRiskSafety,
        defaults.atRiskBoost(),
        java.time.Duration.ofMillis(atRiskAfter.toMilliseconds()),
        defaults.idleAfter());
  }

  public OutageSettings toOutage() {
    return new OutageSettings(
        java.time.Duration.ofMillis(deadlineReserve.toMilliseconds()),
        circuitFailures,
        java.time.Duration.ofMillis(circuitProbeInterval.toMilliseconds()));
  }

  public BatchSettings toSettings() {
    return new BatchSettings(
        chunkLines,
        segmentLines,
        maxRequests,
        maxReportedErrors,
        completionPrefixChars,
        chunkConcurrency,
        maxAttempts,
        java.time.Duration.ofMillis(initialBackoff.toMilliseconds()),
        java.time.Duration.ofMillis(maxBackoff.toMilliseconds()),
        java.time.Duration.ofSeconds(1),
        new BatchSettings.Limits(
            (int) maxLineSize.toBytes(),
            maxJsonDepth,
            chunkBytes.toBytes(),
            (int) maxResponseSize.toBytes()),
        parallelChunks);
  }
}
