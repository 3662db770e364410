package dev.batchgateway.service.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.activities.store.FilesystemFileStore;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.configuration.ConfigurationValidationException;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code files.type} picks the store, and the shipped gateway.yml parses with both. */
class FileStoreFactoryTest {
  private final YamlConfigurationFactory<BatchGatewayConfiguration> factory =
      new YamlConfigurationFactory<>(
          BatchGatewayConfiguration.class,
          Validators.newValidator(),
          Jackson.newObjectMapper(),
          "dw");

  private BatchGatewayConfiguration gatewayYml(Map<String, String> properties) throws Exception {
    properties.forEach(System::setProperty);
    try {
      return factory.build(
          new SubstitutingSourceProvider(
              new FileConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(false)),
          "config/gateway.yml");
    } finally {
      properties.keySet().forEach(System::clearProperty);
    }
  }

  @Test
  void theFilesystemTypeIsTheDefaultAndIgnoresTheS3Settings(@TempDir Path root) throws Exception {
    FileStoreFactory files = gatewayYml(Map.of("dw.files.root", root.toString())).getFiles();

    if (System.getenv("BGW_FILE_STORE") == null) {
      assertThat(files).isInstanceOf(FilesystemFileStoreFactory.class);
    }
    FileStoreFactory filesystem =
        gatewayYml(Map.of("dw.files.type", "filesystem", "dw.files.root", root.toString()))
            .getFiles();
    assertThat(filesystem).isInstanceOf(FilesystemFileStoreFactory.class);
    assertThat(filesystem.build(new Environment("test"))).isInstanceOf(FilesystemFileStore.class);
  }

  @Test
  void theS3TypeReadsItsSettingsAndRegistersAHealthCheck() throws Exception {
    FileStoreFactory files =
        gatewayYml(
                Map.of(
                    "dw.files.type", "s3",
                    "dw.files.s3.bucket", "gateway-files",
                    "dw.files.s3.endpoint", "http://127.0.0.1:9",
                    "dw.files.s3.pathStyle", "true",
                    "dw.files.s3.accessKeyId", "id",
                    "dw.files.s3.secretAccessKey", "secret"))
            .getFiles();

    assertThat(files).isInstanceOf(S3FileStoreFactory.class);
    assertThat(((S3FileStoreFactory) files).getS3().getBucket()).isEqualTo("gateway-files");
    Environment environment = new Environment("test");
    assertThat(files.build(environment)).isInstanceOf(S3FileStore.class);
    assertThat(environment.healthChecks().getNames()).contains("files");
  }

  @Test
  void aBadPrefixOrEncryptionIsRefusedAtStartUp() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                gatewayYml(
                    Map.of(
                        "dw.files.type", "s3",
                        "dw.files.s3.prefix", "no-slash",
                        "dw.files.s3.serverSideEncryption", "rot13")))
        .isInstanceOf(ConfigurationValidationException.class)
        .hasMessageContaining("prefix")
        .hasMessageContaining("serverSideEncryption");
  }
}
