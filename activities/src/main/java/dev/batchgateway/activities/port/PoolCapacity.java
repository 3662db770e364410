package dev.batchgateway.activities.port;

/**
 * The knob the capacity controller turns: how many batch requests may be in flight against a pool,
 * and what it sees of them. Implemented by the limiter that enforces it.
 */
public interface PoolCapacity {

  /**
   * Sets the pool's permits. Lowering it below what is in flight lets nothing new start until
   * enough requests have ended; nothing in flight is cut.
   */
  void setLimit(String pool, int permits);

  /** The pool's permits now. */
  int limit(String pool);

  /** Permits held right now in the pool (by every worker, for a shared limiter). */
  int inFlight(String pool);

  /** Outcomes reported through this process's permits since it started; counters only grow. */
  PoolOutcomes outcomes(String pool);
}
