package dev.batchgateway.workflows;

import java.util.List;

/**
 * The last-resort end of a batch whose files could not be written: its terminal status and why.
 *
 * @param status failed, or the stop already asked for (cancelled, expired)
 */
public record BatchFailure(
    String batchId, String tenant, BatchStatus status, List<BatchProblem> problems) {
  public BatchFailure {
    problems = problems == null ? List.of() : List.copyOf(problems);
  }
}
