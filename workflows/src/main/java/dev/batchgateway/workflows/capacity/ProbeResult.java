package dev.batchgateway.workflows.capacity;

/** Where a run of the probe loop left the controller. */
public record ProbeResult(ControllerState state) {}
