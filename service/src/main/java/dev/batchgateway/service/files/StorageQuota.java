package dev.batchgateway.service.files;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.HashMap;
import java.util.Map;

/**
 * How much each tenant may store: live files (neither deleted nor expired) and their bytes. 0 means
 * no limit, the default. A tenant listed under {@code tenants} takes its own figures; one it leaves
 * out keeps the default. Only uploads are refused: output and error files a batch writes always
 * land, and count.
 */
public class StorageQuota {
  @Min(0)
  @JsonProperty
  private long maxFiles;

  @Min(0)
  @JsonProperty
  private long maxBytes;

  @Valid @NotNull @JsonProperty private Map<String, Override> tenants = new HashMap<>();

  /** One tenant's figures; a missing one is the default. */
  public static class Override {
    @Min(0)
    @JsonProperty
    private Long maxFiles;

    @Min(0)
    @JsonProperty
    private Long maxBytes;

    public Override() {}

    public Override(Long maxFiles, Long maxBytes) {
      this.maxFiles = maxFiles;
      this.maxBytes = maxBytes;
    }
  }

  /** A tenant's limits; 0 is none. */
  public record Limits(long maxFiles, long maxBytes) {
    public boolean any() {
      return maxFiles > 0 || maxBytes > 0;
    }
  }

  public StorageQuota() {}

  public StorageQuota(long maxFiles, long maxBytes, Map<String, Override> tenants) {
    this.maxFiles = maxFiles;
    this.maxBytes = maxBytes;
    this.tenants = new HashMap<>(tenants);
  }

  public Limits limitsFor(String tenant) {
    Override own = tenants.get(tenant);
    if (own == null) {
      return new Limits(maxFiles, maxBytes);
    }
    return new Limits(
        own.maxFiles != null ? own.maxFiles : maxFiles,
        own.maxBytes != null ? own.maxBytes : maxBytes);
  }
}
