package dev.batchgateway.service.files;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.store.FilesystemFileStore;
import io.dropwizard.core.setup.Environment;
import jakarta.validation.constraints.NotEmpty;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code type: filesystem}: objects are files under {@code root}, so every API and worker process
 * must share that folder. The {@code s3} keys are accepted and ignored, so one gateway.yml serves
 * either type.
 */
@JsonTypeName("filesystem")
@JsonIgnoreProperties({"s3"})
public class FilesystemFileStoreFactory implements FileStoreFactory {
  @NotEmpty @JsonProperty private String root = ".data/files";

  public String getRoot() {
    return root;
  }

  @Override
  public FileStore build(Environment environment) throws IOException {
    return new FilesystemFileStore(Path.of(root));
  }
}
