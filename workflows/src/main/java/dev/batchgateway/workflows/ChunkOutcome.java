package dev.batchgateway.workflows;

/** What a finished chunk reports: how many of its lines succeeded and failed. */
public record ChunkOutcome(int chunkIndex, long completed, long failed) {}
