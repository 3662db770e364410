package dev.batchgateway.service.files;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.batchgateway.activities.port.FileStore;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;

/**
 * {@code type: s3}: objects live in one S3 bucket; API and worker processes share nothing but the
 * bucket. Registers the {@code files} health check and closes the client on shutdown. The
 * filesystem {@code root} is accepted and ignored, so one gateway.yml serves either type.
 */
@JsonTypeName("s3")
@JsonIgnoreProperties({"root"})
public class S3FileStoreFactory implements FileStoreFactory {
  @Valid @NotNull @JsonProperty private S3Settings s3 = new S3Settings();

  public S3Settings getS3() {
    return s3;
  }

  @Override
  public FileStore build(Environment environment) {
    var client = s3.buildClient();
    S3FileStore store = s3.buildStore(client);
    environment
        .lifecycle()
        .manage(
            new Managed() {
              @Override
              public void stop() {
                client.close();
              }
            });
    environment.healthChecks().register("files", new S3HealthCheck(store));
    return store;
  }
}
