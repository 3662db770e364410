package dev.batchgateway.activities.port;

import java.util.Map;

/**
 * @param path the OpenAI path, such as {@code /v1/chat/completions}
 * @param body the JSON request body as the user wrote it
 * @param headers extra headers sent as they are
 * @param context the batch the request belongs to; the client derives its pool's ranking headers
 *     from it when it sends (so time-based ones are fresh on every attempt)
 */
public record InferenceRequest(
    String model, String path, byte[] body, Map<String, String> headers, RequestContext context) {

  public InferenceRequest(String model, String path, byte[] body, Map<String, String> headers) {
    this(model, path, body, headers, RequestContext.NONE);
  }

  public InferenceRequest {
    context = context == null ? RequestContext.NONE : context;
  }
}
