package dev.batchgateway.workflows;

/** The OpenAI {@code request_counts} triple. */
public record RequestCounts(long total, long completed, long failed) {
  public static final RequestCounts ZERO = new RequestCounts(0, 0, 0);
}
