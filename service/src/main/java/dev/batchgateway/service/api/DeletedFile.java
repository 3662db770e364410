package dev.batchgateway.service.api;

/** The answer to deleting a file. */
public record DeletedFile(String id, String object, boolean deleted) {}
