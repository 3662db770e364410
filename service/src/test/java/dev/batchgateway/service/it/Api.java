package dev.batchgateway.service.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A thin raw-HTTP client, for checking exact status codes, headers and bodies. */
final class Api {
  static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final String base;
  private final String key;

  Api(int port, String key) {
    this(HttpClient.newHttpClient(), "http://127.0.0.1:" + port, key);
  }

  /**
   * @param base scheme, host and port, e.g. {@code https://127.0.0.1:8443}
   */
  Api(HttpClient http, String base, String key) {
    this.http = http;
    this.base = base;
    this.key = key;
  }

  Api withKey(String otherKey) {
    return new Api(http, base, otherKey);
  }

  HttpResponse<String> get(String path) {
    return send(request(path).GET());
  }

  HttpResponse<byte[]> getBytes(String path) {
    try {
      return http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<String> post(String path, String json) {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  HttpResponse<String> delete(String path) {
    return send(request(path).DELETE());
  }

  /** Uploads a form: the file part first unless {@code fieldsFirst}. */
  HttpResponse<String> upload(
      String filename, byte[] content, Map<String, String> fields, boolean fieldsFirst) {
    String boundary = "----bgw" + UUID.randomUUID();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    List<Runnable> parts = new ArrayList<>();
    Runnable filePart =
        () -> {
          write(body, "--" + boundary + "\r\n");
          write(
              body,
              "Content-Disposition: form-data; name=\"file\""
                  + (filename == null ? "" : "; filename=\"" + filename + "\"")
                  + "\r\nContent-Type: application/octet-stream\r\n\r\n");
          body.writeBytes(content);
          write(body, "\r\n");
        };
    Runnable fieldParts =
        () ->
            fields.forEach(
                (name, value) ->
                    write(
                        body,
                        "--"
                            + boundary
                            + "\r\nContent-Disposition: form-data; name=\""
                            + name
                            + "\"\r\n\r\n"
                            + value
                            + "\r\n"));
    if (fieldsFirst) {
      parts.add(fieldParts);
      parts.add(filePart);
    } else {
      parts.add(filePart);
      parts.add(fieldParts);
    }
    parts.forEach(Runnable::run);
    write(body, "--" + boundary + "--\r\n");
    return send(
        request("/v1/files")
            .header("Content-Type", "multipart/form-data; boundary=" + boundary)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
  }

  /** Uploads a batch input file and returns its id. */
  String uploadBatchFile(String content) {
    HttpResponse<String> response =
        upload(
            "input.jsonl",
            content.getBytes(StandardCharsets.UTF_8),
            Map.of("purpose", "batch"),
            true);
    if (response.statusCode() != 200) {
      throw new IllegalStateException("Upload failed: " + response.body());
    }
    return json(response).get("id").asText();
  }

  JsonNode createBatch(String fileId, String endpoint, String extraJson) {
    HttpResponse<String> response =
        post(
            "/v1/batches",
            "{\"input_file_id\":\""
                + fileId
                + "\",\"endpoint\":\""
                + endpoint
                + "\",\"completion_window\":\"24h\""
                + (extraJson == null ? "" : "," + extraJson)
                + "}");
    if (response.statusCode() != 200) {
      throw new IllegalStateException("Create failed: " + response.body());
    }
    return json(response);
  }

  /** Polls the batch until it reaches a terminal status. */
  JsonNode awaitTerminal(String batchId, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JsonNode batch = json(get("/v1/batches/" + batchId));
      String status = batch.get("status").asText();
      if (List.of("completed", "failed", "expired", "cancelled").contains(status)) {
        return batch;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Batch " + batchId + " still " + status + " after " + timeout);
      }
      Thread.sleep(200);
    }
  }

  /** The lines of a stored file, parsed. */
  List<JsonNode> lines(String fileId) {
    List<JsonNode> lines = new ArrayList<>();
    if (fileId == null) {
      return lines;
    }
    HttpResponse<byte[]> response = getBytes("/v1/files/" + fileId + "/content");
    if (response.statusCode() != 200) {
      throw new IllegalStateException("Download failed: " + response.statusCode());
    }
    for (String line : new String(response.body(), StandardCharsets.UTF_8).split("\n")) {
      if (!line.isEmpty()) {
        lines.add(parse(line));
      }
    }
    return lines;
  }

  static JsonNode json(HttpResponse<String> response) {
    return parse(response.body());
  }

  static JsonNode parse(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    return builder;
  }

  private HttpResponse<String> send(HttpRequest.Builder builder) {
    try {
      return http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void write(ByteArrayOutputStream out, String text) {
    out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
  }
}
