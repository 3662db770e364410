package dev.batchgateway.service.model;

import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.RequestCounts;

/**
 * A batch as stored. {@code metadata} and {@code errors} are JSON text. For a running batch the
 * counts and usage are the live sums over its chunks.
 */
public record BatchRecord(
    String id,
    String tenant,
    String endpoint,
    String inputFileId,
    String completionWindow,
    BatchStatus status,
    long createdAt,
    long expiresAt,
    Long inProgressAt,
    Long finalizingAt,
    Long completedAt,
    Long failedAt,
    Long expiredAt,
    Long cancellingAt,
    Long cancelledAt,
    String outputFileId,
    String errorFileId,
    String model,
    String metadata,
    String errors,
    int priority,
    Long outputExpiresAfter,
    RequestCounts counts,
    Usage usage) {}
