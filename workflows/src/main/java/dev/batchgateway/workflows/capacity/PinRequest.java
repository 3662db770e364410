package dev.batchgateway.workflows.capacity;

/** Holds a pool's limit at {@code permits} until an unpin. */
public record PinRequest(int permits) {}
