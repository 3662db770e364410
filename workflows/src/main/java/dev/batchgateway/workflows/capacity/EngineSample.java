package dev.batchgateway.workflows.capacity;

/**
 * One reading of a pool's engines, summed over its metrics endpoints. Means are over the requests
 * that finished that step since the previous reading; -1 when none did or it is unknown.
 *
 * @param reachable at least one endpoint answered with engine metrics
 * @param endpoints how many endpoints answered
 * @param running requests the engines are running (batch and interactive)
 * @param waiting requests queued in the engines
 * @param kvCacheUsage mean KV-cache use over the engines, 0..1
 * @param ttftMeanSeconds mean time to first token (vLLM's excludes queueing)
 * @param tpotMeanSeconds mean time per output token
 */
public record EngineSample(
    boolean reachable,
    int endpoints,
    int running,
    int waiting,
    double kvCacheUsage,
    double ttftMeanSeconds,
    double tpotMeanSeconds) {

  public static final EngineSample UNREACHABLE = new EngineSample(false, 0, 0, 0, 0, -1, -1);
}
