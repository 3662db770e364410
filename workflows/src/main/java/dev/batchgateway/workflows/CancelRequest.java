package dev.batchgateway.workflows;

/** Argument of the {@code cancel} signal; the reason is free text for the operator's log. */
public record CancelRequest(String reason) {}
