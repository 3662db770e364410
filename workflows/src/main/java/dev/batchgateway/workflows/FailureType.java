package dev.batchgateway.workflows;

/** {@code ApplicationFailure} types raised by activities; the names are the failure types. */
public enum FailureType {
  /** The batch's input is unusable (for example its file vanished); retrying cannot help. */
  INPUT_UNAVAILABLE,
  /** The batch row is missing; the batch was deleted under the workflow. */
  BATCH_NOT_FOUND;

  public String type() {
    return name();
  }
}
