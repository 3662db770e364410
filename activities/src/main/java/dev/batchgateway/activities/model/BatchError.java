package dev.batchgateway.activities.model;

/** One entry of a Batch's {@code errors.data}; {@code line} is 1-based or null. */
public record BatchError(String code, String message, String param, Integer line) {}
