package dev.batchgateway.service.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;

/**
 * The OpenAI-compatible server every batch request goes to. {@code models} lists the models it
 * serves, comma-separated; empty means ask the server's {@code /v1/models}.
 */
public class InferenceSettings {
  @NotEmpty @JsonProperty private String url = "http://127.0.0.1:8100";
  @NotNull @JsonProperty private String models = "";
  @NotNull @JsonProperty private Duration requestTimeout = Duration.minutes(10);
  @NotNull @JsonProperty private Duration connectTimeout = Duration.seconds(10);

  /** How long a list of models read from the server is trusted. */
  @NotNull @JsonProperty private Duration modelsRefresh = Duration.seconds(30);

  public String getUrl() {
    return url;
  }

  public String getModels() {
    return models;
  }

  public Duration getRequestTimeout() {
    return requestTimeout;
  }

  public Duration getConnectTimeout() {
    return connectTimeout;
  }

  public Duration getModelsRefresh() {
    return modelsRefresh;
  }
}
