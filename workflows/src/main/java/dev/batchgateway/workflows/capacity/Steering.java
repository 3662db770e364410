package dev.batchgateway.workflows.capacity;

/**
 * What an operator has imposed on the controller.
 *
 * @param paused the limit is 0: no batch request starts
 * @param pinnedPermits the limit is held at this value; null = the controller decides
 */
public record Steering(boolean paused, Integer pinnedPermits) {
  public static final Steering NONE = new Steering(false, null);

  public boolean pinned() {
    return pinnedPermits != null;
  }
}
