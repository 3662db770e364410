package dev.batchgateway.activities.model;

import dev.batchgateway.activities.port.BatchPace;
import dev.batchgateway.workflows.BatchStatus;

/**
 * What a running chunk reads about its batch every second, in one query: whether to stop, the
 * priority to ask permits with, and how far the batch has got.
 */
public record BatchControl(BatchStatus status, int priority, BatchPace pace) {}
