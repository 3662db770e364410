package dev.batchgateway.workflows.capacity;

/** How the controller chose the last limit. */
public enum ProbeMode {
  /** Nothing decided yet. */
  STARTING,
  /** From engine metrics, with a known capacity (configured or learned). */
  ADAPTIVE,
  /** From engine metrics, capacity not known yet: growing step by step until the engine queues. */
  LEARNING,
  /** No engine metrics: additive increase, multiplicative decrease on drops and latency. */
  FALLBACK,
  /** An operator pinned the limit. */
  PINNED,
  /** An operator paused batch dispatch: the limit is 0. */
  PAUSED
}
