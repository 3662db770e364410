package dev.batchgateway.service.inference;

import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.dropwizard.configuration.ConfigurationException;
import io.dropwizard.configuration.YamlConfigurationFactory;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Reads an {@code inference:} block the way the gateway reads its configuration file. */
final class PoolsYaml {
  private PoolsYaml() {}

  /** Reads without validating, to look at what validation would say. */
  static InferenceSettings read(String yaml) throws IOException {
    return Jackson.newObjectMapper(new YAMLFactory()).readValue(yaml, InferenceSettings.class);
  }

  static InferenceSettings parse(String yaml) throws IOException, ConfigurationException {
    return new YamlConfigurationFactory<>(
            InferenceSettings.class, Validators.newValidator(), Jackson.newObjectMapper(), "dw")
        .build(
            path -> new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)),
            "inference.yml");
  }
}
