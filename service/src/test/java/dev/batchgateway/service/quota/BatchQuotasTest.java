package dev.batchgateway.service.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.batchgateway.service.errors.ApiException;
import org.junit.jupiter.api.Test;

class BatchQuotasTest {
  private static BatchQuotas.Load load(long active, long queued) {
    return new BatchQuotas.Load(active, queued);
  }

  @Test
  void exactlyUpToEachLimitIsAllowed() {
    assertThat(BatchQuotas.passed(load(2, 0), 10, 3, 0)).isNull();
    assertThat(BatchQuotas.passed(load(3, 0), 10, 3, 0)).isEqualTo(Quota.ACTIVE_BATCHES);
    assertThat(BatchQuotas.passed(load(0, 90), 10, 0, 100)).isNull();
    assertThat(BatchQuotas.passed(load(0, 91), 10, 0, 100)).isEqualTo(Quota.QUEUED_REQUESTS);
  }

  @Test
  void zeroIsNoLimit() {
    assertThat(BatchQuotas.passed(load(1_000_000, 1_000_000_000), 50_000, 0, 0)).isNull();
  }

  @Test
  void theActiveBatchLimitIsNamedFirst() {
    assertThat(BatchQuotas.passed(load(5, 1000), 10, 5, 100)).isEqualTo(Quota.ACTIVE_BATCHES);
  }

  @Test
  void refusalsAre429sThatNameTheLimitItsValueAndWhatToDo() {
    ApiException active =
        BatchQuotas.refusal("team-x", Quota.ACTIVE_BATCHES, load(10, 0), 5, 10, 0);
    assertThat(active.status()).isEqualTo(429);
    assertThat(active.type()).isEqualTo("rate_limit_error");
    assertThat(active.code()).isEqualTo("active_batch_limit_exceeded");
    assertThat(active.retryable()).isFalse();
    assertThat(active.getMessage())
        .contains("'team-x' has 10 unfinished batches")
        .contains("maxActiveBatches 10")
        .contains("cancel one");

    ApiException queued =
        BatchQuotas.refusal("team-x", Quota.QUEUED_REQUESTS, load(1, 1200), 500, 0, 1500);
    assertThat(queued.code()).isEqualTo("queued_request_limit_exceeded");
    assertThat(queued.param()).isEqualTo("input_file_id");
    assertThat(queued.getMessage())
        .contains("1,200 requests in unfinished batches")
        .contains("adds 500")
        .contains("1,500 queued requests");

    ApiException tooBig =
        BatchQuotas.refusal("team-x", Quota.QUEUED_REQUESTS, load(0, 0), 2000, 0, 1500);
    assertThat(tooBig.getMessage()).contains("This batch has 2,000 requests").contains("Split");
  }

  @Test
  void theRateIsNotABatchQuota() {
    assertThatThrownBy(
            () -> BatchQuotas.refusal("t", Quota.REQUESTS_PER_SECOND, load(0, 0), 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
