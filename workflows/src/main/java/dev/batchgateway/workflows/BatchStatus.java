package dev.batchgateway.workflows;

import java.util.Locale;

/** The lifecycle states of a batch, spelled on the wire as OpenAI spells them. */
public enum BatchStatus {
  VALIDATING,
  FAILED,
  IN_PROGRESS,
  FINALIZING,
  COMPLETED,
  EXPIRED,
  CANCELLING,
  CANCELLED;

  /** The lower-case name used by the OpenAI API, for example {@code in_progress}. */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static BatchStatus fromWire(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }

  public boolean isTerminal() {
    return this == FAILED || this == COMPLETED || this == EXPIRED || this == CANCELLED;
  }

  /**
   * Whether a batch may move from this status to {@code next}. Status writes are compare-and-set on
   * this rule, so a late or repeated write can never move a batch backwards.
   */
  public boolean canMoveTo(BatchStatus next) {
    return switch (this) {
      case VALIDATING ->
          next == IN_PROGRESS
              || next == FAILED
              || next == CANCELLING
              || next == EXPIRED
              || next == FINALIZING;
      case IN_PROGRESS ->
          next == FINALIZING || next == CANCELLING || next == EXPIRED || next == FAILED;
      case FINALIZING -> next == COMPLETED || next == CANCELLING || next == FAILED;
      case CANCELLING -> next == CANCELLED;
      case FAILED, COMPLETED, EXPIRED, CANCELLED -> false;
    };
  }
}
