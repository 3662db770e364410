package dev.batchgateway.service.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.util.ArrayList;
import java.util.List;

/**
 * The headers llm-d ranks traffic by, added to every batch request; each can be renamed or turned
 * off. A name left out keeps its default.
 */
public class HeaderSettings {
  static final String OBJECTIVE = "x-gateway-inference-objective";
  static final String FAIRNESS_ID = "x-gateway-inference-fairness-id";
  static final String SLO_TTFT = "x-slo-ttft-ms";

  /** The InferenceObjective the requests belong to; sent only when there is a value. */
  @Valid @NotNull @JsonProperty private Objective objective = new Objective();

  /** The batch's tenant, so the endpoint picker shares capacity fairly between tenants. */
  @Valid @NotNull @JsonProperty private Header fairnessId = new Header();

  /** Milliseconds left until the batch's deadline, as of the moment the request is sent. */
  @Valid @NotNull @JsonProperty private Header sloTtft = new Header();

  public Objective getObjective() {
    return objective;
  }

  public Header getFairnessId() {
    return fairnessId;
  }

  public Header getSloTtft() {
    return sloTtft;
  }

  List<String> problems() {
    List<String> problems = new ArrayList<>();
    for (Header header : List.of(objective, fairnessId, sloTtft)) {
      if (header.name != null && !isToken(header.name)) {
        problems.add("header name '" + header.name + "' is not a valid HTTP header name");
      }
    }
    return problems;
  }

  /** RFC 9110 token characters; the JDK refuses anything else at send time. */
  private static boolean isToken(String name) {
    return !name.isEmpty()
        && name.chars()
            .allMatch(
                c ->
                    c < 127 && (Character.isLetterOrDigit(c) || "!#$%&'*+-.^_`|~".indexOf(c) >= 0));
  }

  /** One header: on by default, under its default name unless {@code name} says otherwise. */
  public static class Header {
    @JsonProperty private boolean enabled = true;
    @JsonProperty private String name;

    public boolean isEnabled() {
      return enabled;
    }

    public String nameOr(String fallback) {
      return name == null ? fallback : name;
    }
  }

  /**
   * The objective header. {@code value} applies to every batch of the pool. With {@code
   * batchOverride}, a batch's OpenAI metadata key {@code metadataKey} replaces it; off by default,
   * since it lets a tenant choose its own traffic class.
   */
  public static class Objective extends Header {
    @JsonProperty private String value;
    @JsonProperty private boolean batchOverride;
    @NotNull @JsonProperty private String metadataKey = "inference_objective";

    public String getValue() {
      return value;
    }

    public boolean isBatchOverride() {
      return batchOverride;
    }

    public String getMetadataKey() {
      return metadataKey;
    }
  }
}
