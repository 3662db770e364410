package dev.batchgateway.workflows.capacity;

/** Which way the last tick moved the limit. */
public enum Decision {
  UP,
  DOWN,
  HOLD
}
