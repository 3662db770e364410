package dev.batchgateway.service.files;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.batchgateway.activities.port.FileStore;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jackson.Discoverable;
import java.io.IOException;

/**
 * The {@code files:} section of the configuration: where file bytes are kept, chosen by {@code
 * type:} ({@code filesystem} or {@code s3}).
 */
@JsonTypeInfo(
    use = JsonTypeInfo.Id.NAME,
    property = "type",
    defaultImpl = FilesystemFileStoreFactory.class)
public interface FileStoreFactory extends Discoverable {

  /** Builds the store and registers what it needs with the environment (lifecycle, health). */
  FileStore build(Environment environment) throws IOException;
}
