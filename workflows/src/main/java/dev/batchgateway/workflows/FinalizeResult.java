package dev.batchgateway.workflows;

/** The files finalize wrote (either id may be null) and the final counts. */
public record FinalizeResult(RequestCounts counts, String outputFileId, String errorFileId) {}
