package dev.batchgateway.activities;

/** Heartbeat details of a chunk activity, shown in the Temporal UI for a running chunk. */
public record ChunkCheckpoint(int segmentsDone, long linesDone) {}
