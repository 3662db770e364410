package dev.batchgateway.activities.capacity;

import dev.batchgateway.workflows.capacity.EngineSample;
import java.util.List;

/** Reads a pool's engines. */
public interface EngineMetrics {

  /**
   * One reading summed over {@code urls}; {@link EngineSample#UNREACHABLE} when none answered with
   * engine metrics. Means are since the previous read of the same URLs.
   */
  EngineSample read(List<String> urls);
}
