package dev.batchgateway.workflows;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** Runs one chunk of a plan against the inference pool, checkpointing as it goes. */
@ActivityInterface
public interface ChunkActivities {

  @ActivityMethod
  ChunkOutcome runChunk(ChunkTask task);
}
