package dev.batchgateway.service.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.batchgateway.activities.model.FileRecord;

/** The OpenAI File object. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record FileObject(
    String id,
    String object,
    long bytes,
    @JsonProperty("created_at") long createdAt,
    String filename,
    String purpose,
    String status,
    @JsonProperty("expires_at") Long expiresAt,
    @JsonProperty("status_details") String statusDetails) {

  public static FileObject of(FileRecord file) {
    return new FileObject(
        file.id(),
        "file",
        file.bytes(),
        file.createdAt(),
        file.filename(),
        file.purpose(),
        file.status(),
        file.expiresAt(),
        null);
  }
}
