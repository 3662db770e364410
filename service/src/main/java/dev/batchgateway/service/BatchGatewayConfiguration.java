package dev.batchgateway.service;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.service.auth.TrustedHeaderSettings;
import dev.batchgateway.service.capacity.CapacitySettings;
import dev.batchgateway.service.cleanup.CleanupSettings;
import dev.batchgateway.service.files.FileStoreFactory;
import dev.batchgateway.service.files.FilesystemFileStoreFactory;
import dev.batchgateway.service.files.StorageQuota;
import dev.batchgateway.service.inference.InferenceSettings;
import dev.batchgateway.service.limiter.LimiterFactory;
import dev.batchgateway.service.limiter.RedissonLimiterFactory;
import dev.batchgateway.service.quota.QuotaSettings;
import dev.batchgateway.service.tracing.TracingSettings;
import dev.batchgateway.temporal.TemporalSettings;
import io.dropwizard.core.Configuration;
import io.dropwizard.db.DataSourceFactory;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;

/** The gateway's YAML configuration; {@code service/config/gateway.yml} documents each key. */
@TlsSettingsAreValid
public class BatchGatewayConfiguration extends Configuration {

  @Valid @NotNull @JsonProperty private DataSourceFactory database = new DataSourceFactory();

  @Valid @NotNull @JsonProperty private TemporalSettings temporal = new TemporalSettings();

  @Valid @NotNull @JsonProperty private FileStoreFactory files = new FilesystemFileStoreFactory();

  @Valid @NotNull @JsonProperty private InferenceSettings inference = new InferenceSettings();

  @Valid @NotNull @JsonProperty private BatchLimits batches = new BatchLimits();

  /** Caps the requests in flight per inference pool; {@code type: local} or {@code redisson}. */
  @Valid @NotNull @JsonProperty private LimiterFactory limiter = new RedissonLimiterFactory();

  @Valid @NotNull @JsonProperty private CapacitySettings capacity = new CapacitySettings();

  @Valid @NotNull @JsonProperty private CleanupSettings cleanup = new CleanupSettings();

  /** Files and bytes each tenant may store (README, "Storage quotas"); off by default. */
  @Valid @NotNull @JsonProperty private StorageQuota storageQuota = new StorageQuota();

  /**
   * Unfinished batches, queued requests and API calls per second each tenant may have (README,
   * "Tenant quotas").
   */
  @Valid @NotNull @JsonProperty private QuotaSettings quotas = new QuotaSettings();

  /**
   * {@code key:tenant} pairs, comma-separated, besides the keys in the database ({@code keys
   * create}); empty for none.
   */
  @NotNull @JsonProperty private String apiKeys = "";

  /** The tenant from an authenticating proxy's header; off by default. */
  @Valid @NotNull @JsonProperty
  private TrustedHeaderSettings trustedHeader = new TrustedHeaderSettings();

  /** OpenTelemetry traces, posted over OTLP; off unless an endpoint is set. */
  @Valid @NotNull @JsonProperty private TracingSettings tracing = new TracingSettings();

  public DataSourceFactory getDatabase() {
    return database;
  }

  public TemporalSettings getTemporal() {
    return temporal;
  }

  public FileStoreFactory getFiles() {
    return files;
  }

  public InferenceSettings getInference() {
    return inference;
  }

  public BatchLimits getBatches() {
    return batches;
  }

  public StorageQuota getStorageQuota() {
    return storageQuota;
  }

  public QuotaSettings getQuotas() {
    return quotas;
  }

  public LimiterFactory getLimiter() {
    return limiter;
  }

  public CapacitySettings getCapacity() {
    return capacity;
  }

  public CleanupSettings getCleanup() {
    return cleanup;
  }

  public TracingSettings getTracing() {
    return tracing;
  }

  public TrustedHeaderSettings getTrustedHeader() {
    return trustedHeader;
  }

  public String getApiKeys() {
    return apiKeys;
  }
}
