package dev.batchgateway.activities.port;

import java.time.Duration;

/** How often, and how far apart, a pool's failed requests are tried again. */
public record PoolRetry(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {}
