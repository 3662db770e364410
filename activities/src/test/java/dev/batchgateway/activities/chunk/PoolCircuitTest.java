package dev.batchgateway.activities.chunk;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PoolCircuitTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final AtomicInteger opens = new AtomicInteger();
  private final PoolCircuit circuit = new PoolCircuit(3, 100, now::get, opens::incrementAndGet);

  @Test
  void opensAfterConsecutiveConnectionFailuresOnly() {
    circuit.onUnreachable();
    circuit.onUnreachable();
    circuit.onReachable();
    circuit.onUnreachable();
    circuit.onUnreachable();
    assertThat(circuit.state()).isEqualTo(PoolCircuit.State.CLOSED);
    assertThat(circuit.tryPass()).isTrue();

    circuit.onUnreachable();

    assertThat(circuit.state()).isEqualTo(PoolCircuit.State.OPEN);
    assertThat(opens).hasValue(1);
    assertThat(circuit.tryPass()).isFalse();
  }

  @Test
  void anOpenCircuitLetsOneProbeThroughPerIntervalAndClosesOnAnAnswer() {
    for (int i = 0; i < 3; i++) {
      circuit.onUnreachable();
    }
    now.addAndGet(99);
    assertThat(circuit.tryPass()).isFalse();
    now.addAndGet(1);
    assertThat(circuit.tryPass()).isTrue();
    assertThat(circuit.state()).isEqualTo(PoolCircuit.State.HALF_OPEN);
    assertThat(circuit.tryPass()).isFalse();

    circuit.onUnreachable();
    assertThat(circuit.state()).isEqualTo(PoolCircuit.State.OPEN);
    assertThat(opens).as("a failed probe does not count as a new opening").hasValue(1);
    now.addAndGet(100);
    assertThat(circuit.tryPass()).isTrue();

    circuit.onReachable();
    assertThat(circuit.state()).isEqualTo(PoolCircuit.State.CLOSED);
    assertThat(circuit.tryPass()).isTrue();
    assertThat(circuit.tryPass()).isTrue();
  }
}
