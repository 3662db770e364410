package dev.batchgateway.workflows;

/** Argument of the {@code reprioritize} signal. Higher runs earlier. */
public record ReprioritizeRequest(int priority) {}
