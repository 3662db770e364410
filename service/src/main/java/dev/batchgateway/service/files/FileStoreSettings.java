package dev.batchgateway.service.files;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.NotEmpty;

/** Where files are kept. Only the local filesystem for now; S3 is the next adapter. */
public class FileStoreSettings {
  @NotEmpty @JsonProperty private String type = "filesystem";
  @NotEmpty @JsonProperty private String root = ".data/files";

  public String getType() {
    return type;
  }

  public String getRoot() {
    return root;
  }
}
