package dev.batchgateway.activities.port;

/**
 * A limiter seen from both sides: the chunks ask it for permits, the capacity controller turns its
 * knob. The composition root builds one and hands each side the interface it needs.
 */
public interface PoolLimiter extends ConcurrencyLimiter, PoolCapacity {}
