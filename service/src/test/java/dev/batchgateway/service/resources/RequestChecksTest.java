package dev.batchgateway.service.resources;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.batchgateway.service.BatchLimits;
import dev.batchgateway.service.errors.ApiException;
import io.dropwizard.jackson.Jackson;
import org.junit.jupiter.api.Test;

class RequestChecksTest {
  private static final ObjectMapper JSON = Jackson.newObjectMapper();

  private static BatchLimits limits() throws Exception {
    return JSON.readValue(
        "{\"minPriority\":-10,\"maxPriority\":10,\"tenantMaxPriority\":{\"capped\":3}}",
        BatchLimits.class);
  }

  private static JsonNode value(String text) throws Exception {
    return JSON.readTree(text);
  }

  @Test
  void prioritiesOutsideTheRangeAreClamped() throws Exception {
    BatchLimits limits = limits();

    assertThat(RequestChecks.priority(value("50"), limits, "free")).isEqualTo(10);
    assertThat(RequestChecks.priority(value("-50"), limits, "free")).isEqualTo(-10);
    assertThat(RequestChecks.priority(value("99999999999999999999999"), limits, "free"))
        .isEqualTo(10);
    assertThat(RequestChecks.priority(value("7"), limits, "free")).isEqualTo(7);
    assertThat(RequestChecks.priority(null, limits, "free")).isZero();
  }

  @Test
  void aTenantAboveItsMaximumIsRefusedWithTheFieldNamed() throws Exception {
    BatchLimits limits = limits();

    assertThat(RequestChecks.priority(value("3"), limits, "capped")).isEqualTo(3);
    assertThat(RequestChecks.priority(value("-50"), limits, "capped")).isEqualTo(-10);
    assertThatThrownBy(() -> RequestChecks.priority(value("4"), limits, "capped"))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(400);
              assertThat(e.param()).isEqualTo("priority");
              assertThat(e.code()).isEqualTo("invalid_value");
              assertThat(e.getMessage()).contains("at most 3");
            });
  }

  @Test
  void aNonIntegerPriorityIsRefused() {
    assertThatThrownBy(() -> RequestChecks.priority(value("\"high\""), limits(), "free"))
        .isInstanceOf(ApiException.class);
    assertThatThrownBy(() -> RequestChecks.priority(value("1.5"), limits(), "free"))
        .isInstanceOf(ApiException.class);
  }
}
