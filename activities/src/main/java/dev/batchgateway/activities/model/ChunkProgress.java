package dev.batchgateway.activities.model;

/** Lines one chunk has finished so far, saved at every checkpoint so counts show while running. */
public record ChunkProgress(long completed, long failed, Usage usage) {}
