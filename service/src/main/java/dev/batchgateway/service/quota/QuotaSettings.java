package dev.batchgateway.service.quota;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.service.auth.ApiKeys;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.HashMap;
import java.util.Map;

/**
 * What each tenant may have going at once: unfinished batches, the requests in them, and API calls
 * per second (a token bucket with a burst, counted in each API process). 0 means no limit. A tenant
 * listed under {@code tenants} takes its own figures; a figure it leaves out is the default.
 */
public class QuotaSettings {
  @Min(0)
  @JsonProperty
  private long maxActiveBatches;

  @Min(0)
  @JsonProperty
  private long maxQueuedRequests;

  @DecimalMin("0")
  @JsonProperty
  private double requestsPerSecond;

  /** Calls a tenant may make at once after a quiet spell; 0: one second's worth. */
  @Min(0)
  @JsonProperty
  private long burst;

  @Valid @NotNull @JsonProperty private Map<String, Override> tenants = new HashMap<>();

  /** One tenant's figures; a missing one is the default. */
  public static class Override {
    @Min(0)
    @JsonProperty
    private Long maxActiveBatches;

    @Min(0)
    @JsonProperty
    private Long maxQueuedRequests;

    @DecimalMin("0")
    @JsonProperty
    private Double requestsPerSecond;

    @Min(0)
    @JsonProperty
    private Long burst;

    public Override() {}

    public Override(
        Long maxActiveBatches, Long maxQueuedRequests, Double requestsPerSecond, Long burst) {
      this.maxActiveBatches = maxActiveBatches;
      this.maxQueuedRequests = maxQueuedRequests;
      this.requestsPerSecond = requestsPerSecond;
      this.burst = burst;
    }
  }

  /**
   * A tenant's limits; 0 is none.
   *
   * @param burst the bucket's size; at least 1 whenever {@code requestsPerSecond} is set
   */
  public record Limits(
      long maxActiveBatches, long maxQueuedRequests, double requestsPerSecond, long burst) {
    /** Whether a create must count the tenant's batches. */
    public boolean limitsBatches() {
      return maxActiveBatches > 0 || maxQueuedRequests > 0;
    }

    public boolean limitsRate() {
      return requestsPerSecond > 0;
    }
  }

  public QuotaSettings() {}

  public QuotaSettings(
      long maxActiveBatches,
      long maxQueuedRequests,
      double requestsPerSecond,
      long burst,
      Map<String, Override> tenants) {
    this.maxActiveBatches = maxActiveBatches;
    this.maxQueuedRequests = maxQueuedRequests;
    this.requestsPerSecond = requestsPerSecond;
    this.burst = burst;
    this.tenants = new HashMap<>(tenants);
  }

  public Limits limitsFor(String tenant) {
    Override own = tenants.get(tenant);
    long active = maxActiveBatches;
    long queued = maxQueuedRequests;
    double rate = requestsPerSecond;
    long size = burst;
    if (own != null) {
      active = own.maxActiveBatches != null ? own.maxActiveBatches : active;
      queued = own.maxQueuedRequests != null ? own.maxQueuedRequests : queued;
      rate = own.requestsPerSecond != null ? own.requestsPerSecond : rate;
      size = own.burst != null ? own.burst : size;
    }
    if (rate > 0 && size == 0) {
      size = Math.max(1, (long) Math.ceil(rate));
    }
    return new Limits(active, queued, rate, rate > 0 ? size : 0);
  }

  /** Tenants are named as keys name them; a name no key can carry would never apply. */
  @JsonIgnore
  @AssertTrue(message = "quotas.tenants: each name must be 1-64 letters, digits, '.', '_' or '-'")
  public boolean isEveryTenantNameValid() {
    return tenants.keySet().stream().allMatch(ApiKeys::isValidTenant);
  }

  /** NaN or infinity would make a bucket that refuses, or allows, everything. */
  @JsonIgnore
  @AssertTrue(message = "quotas: requestsPerSecond must be a finite number")
  public boolean isEveryRateFinite() {
    return Double.isFinite(requestsPerSecond)
        && tenants.values().stream()
            .allMatch(
                own -> own.requestsPerSecond == null || Double.isFinite(own.requestsPerSecond));
  }
}
