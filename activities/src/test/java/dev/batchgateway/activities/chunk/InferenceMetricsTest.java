package dev.batchgateway.activities.chunk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.batchgateway.activities.chunk.InferenceMetrics.Outcome;
import dev.batchgateway.activities.port.InferenceResponse;
import dev.batchgateway.activities.port.ResponseTooLargeException;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class InferenceMetricsTest {
  @Test
  void answersAreClassifiedByStatus() {
    assertThat(InferenceMetrics.outcomeOf(response(200), null)).isEqualTo(Outcome.SUCCESS);
    assertThat(InferenceMetrics.outcomeOf(response(429), null)).isEqualTo(Outcome.OVERLOADED);
    assertThat(InferenceMetrics.outcomeOf(response(503), null)).isEqualTo(Outcome.OVERLOADED);
    assertThat(InferenceMetrics.outcomeOf(response(400), null)).isEqualTo(Outcome.CLIENT_ERROR);
    assertThat(InferenceMetrics.outcomeOf(response(500), null)).isEqualTo(Outcome.SERVER_ERROR);
  }

  @Test
  void failuresAreClassifiedByCause() {
    assertThat(outcome(new ConnectException("refused"))).isEqualTo(Outcome.UNREACHABLE);
    assertThat(outcome(new HttpTimeoutException("slow"))).isEqualTo(Outcome.TIMEOUT);
    assertThat(outcome(new CancellationException())).isEqualTo(Outcome.CANCELLED);
    assertThat(outcome(new ResponseTooLargeException(10))).isEqualTo(Outcome.TOO_LARGE);
    assertThat(outcome(new IllegalStateException("?"))).isEqualTo(Outcome.ERROR);
  }

  private static Outcome outcome(Throwable cause) {
    return InferenceMetrics.outcomeOf(null, new CompletionException(cause));
  }

  private static InferenceResponse response(int status) {
    return new InferenceResponse(status, new byte[0], null, -1);
  }
}
