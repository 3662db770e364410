package dev.batchgateway.workflows.capacity;

/**
 * One run of the probe loop: the pool, the operator's steering, and where the last run left off.
 */
public record ProbeRequest(PoolProbeSpec spec, Steering steering, ControllerState state) {}
