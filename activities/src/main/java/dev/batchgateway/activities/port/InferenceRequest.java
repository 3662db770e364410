package dev.batchgateway.activities.port;

import java.util.Map;

/**
 * @param path the OpenAI path, such as {@code /v1/chat/completions}
 * @param body the JSON request body as the user wrote it
 * @param headers extra headers, for example traffic ranking hints for llm-d
 */
public record InferenceRequest(
    String model, String path, byte[] body, Map<String, String> headers) {}
