package dev.batchgateway.activities.plan;

import dev.batchgateway.activities.model.BatchError;
import java.util.List;

/**
 * What planning produced. When {@code errors} is not empty the plan is invalid and no chunk file
 * was written.
 *
 * @param model the model of the first valid line
 */
public record Plan(long totalLines, int chunkCount, String model, List<BatchError> errors) {
  public boolean valid() {
    return errors.isEmpty();
  }
}
