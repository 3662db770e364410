package dev.batchgateway.activities.limiter;

import dev.batchgateway.activities.port.ConcurrencyLimiter;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A permit that ends once: the first outcome gives it back and is counted; later ones are ignored.
 * Each limiter says how a permit is given back.
 */
public abstract class CountedPermit implements ConcurrencyLimiter.Permit {
  private final String pool;
  private final OutcomeCounters outcomes;
  private final AtomicBoolean ended = new AtomicBoolean();

  protected CountedPermit(String pool, OutcomeCounters outcomes) {
    this.pool = pool;
    this.outcomes = outcomes;
  }

  public String pool() {
    return pool;
  }

  /** Returns the permit to its limiter; called exactly once. */
  protected abstract void giveBack();

  private boolean end() {
    if (!ended.compareAndSet(false, true)) {
      return false;
    }
    giveBack();
    return true;
  }

  @Override
  public void onSuccess(long latencyNanos) {
    if (end()) {
      outcomes.success(pool, latencyNanos);
    }
  }

  @Override
  public void onDropped() {
    if (end()) {
      outcomes.dropped(pool);
    }
  }

  @Override
  public void onIgnore() {
    if (end()) {
      outcomes.ignored(pool);
    }
  }
}
