package dev.batchgateway.service.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.activities.port.RequestContext;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RankingHeadersTest {
  private static final long DEADLINE = 1_800_000_000L;
  private static final RequestContext BATCH =
      new RequestContext("acme", "batch_1", DEADLINE, Map.of("inference_objective", "premium"));

  @Test
  void byDefaultTheTenantAndTheTimeLeftAreSentButNoObjective() throws Exception {
    RankingHeaders headers = headers("{}");

    assertThat(headers.of(BATCH, DEADLINE * 1000 - 90_000))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("x-gateway-inference-fairness-id", "acme", "x-slo-ttft-ms", "90000"));
  }

  @Test
  void theTimeLeftShrinksFromOneAttemptToTheNextAndStopsAtZero() throws Exception {
    RankingHeaders headers = headers("{}");
    long firstAttempt = DEADLINE * 1000 - 60_000;

    assertThat(headers.of(BATCH, firstAttempt)).containsEntry("x-slo-ttft-ms", "60000");
    assertThat(headers.of(BATCH, firstAttempt + 1_500)).containsEntry("x-slo-ttft-ms", "58500");
    assertThat(headers.of(BATCH, DEADLINE * 1000 + 5_000)).containsEntry("x-slo-ttft-ms", "0");
  }

  @Test
  void aFarDeadlineDoesNotOverflow() throws Exception {
    RequestContext never = new RequestContext("acme", "batch_4", Long.MAX_VALUE, Map.of());

    assertThat(headers("{}").of(never, 1_000))
        .containsEntry("x-slo-ttft-ms", Long.toString(Long.MAX_VALUE - 1_000));
  }

  @Test
  void aRequestWithoutABatchGetsNoBatchHeaders() throws Exception {
    assertThat(headers("{objective: {value: batch}}").of(RequestContext.NONE, 0))
        .containsExactly(Map.entry("x-gateway-inference-objective", "batch"));
  }

  @Test
  void disabledHeadersAreAbsentAndNamesCanChange() throws Exception {
    RankingHeaders headers =
        headers(
            """
            {objective: {value: batch, enabled: false},
             fairnessId: {name: x-tenant},
             sloTtft: {enabled: false}}
            """);

    assertThat(headers.of(BATCH, 0)).containsExactly(Map.entry("x-tenant", "acme"));
  }

  @Test
  void aBatchChoosesItsObjectiveOnlyWhenThePoolAllowsIt() throws Exception {
    String off = "{objective: {value: batch}}";
    String on = "{objective: {value: batch, batchOverride: true}}";
    RequestContext plain = new RequestContext("acme", "batch_2", DEADLINE, Map.of());
    RequestContext forged =
        new RequestContext("acme", "batch_3", DEADLINE, Map.of("inference_objective", "a\r\nb: c"));

    assertThat(headers(off).of(BATCH, 0)).containsEntry("x-gateway-inference-objective", "batch");
    assertThat(headers(on).of(BATCH, 0)).containsEntry("x-gateway-inference-objective", "premium");
    assertThat(headers(on).of(plain, 0)).containsEntry("x-gateway-inference-objective", "batch");
    assertThat(headers(on).of(forged, 0)).containsEntry("x-gateway-inference-objective", "batch");
  }

  private static RankingHeaders headers(String yaml) throws Exception {
    return new RankingHeaders(PoolsYaml.parse("headers: " + yaml).getHeaders());
  }
}
