package dev.batchgateway.activities.port;

/**
 * No pool lists the model, and a pool that learns its models from its servers has not been able to
 * read them yet: whether the model is served is unknown. The gateway then refuses to guess; the
 * planning or chunk activity fails and is retried, and the message says which pool and why.
 */
public final class ModelListUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelListUnavailableException(String message) {
    super(message);
  }
}
