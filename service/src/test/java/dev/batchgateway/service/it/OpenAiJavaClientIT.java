package dev.batchgateway.service.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.errors.UnexpectedStatusCodeException;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.batches.BatchListParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileListParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import dev.batchgateway.service.BatchGatewayConfiguration;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The official OpenAI Java client, pointed at the gateway by changing only its base URL. */
@ExtendWith(DropwizardExtensionsSupport.class)
class OpenAiJavaClientIT {
  private static final String TENANT = TestStack.uniqueTenant("java-client");

  static final DropwizardAppExtension<BatchGatewayConfiguration> APP =
      TestStack.gateway(
          "sk-java:" + TENANT + ",sk-java-b:" + TENANT + "-b", "BGW_TEST_INFERENCE_URL");

  @TempDir Path temp;
  private OpenAIClient client;
  private String model;

  @BeforeEach
  void connect() {
    client = clientWithKey("sk-java");
    model = TestStack.model();
  }

  private OpenAIClient clientWithKey(String key) {
    return OpenAIOkHttpClient.builder()
        .apiKey(key)
        .baseUrl("http://127.0.0.1:" + APP.getLocalPort() + "/v1")
        .maxRetries(0)
        .build();
  }

  private FileObject upload(String name, String content) throws IOException {
    Path path = temp.resolve(name);
    Files.writeString(path, content);
    return client
        .files()
        .create(FileCreateParams.builder().file(path).purpose(FilePurpose.BATCH).build());
  }

  @Test
  void filesRoundTrip() throws IOException {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(upload("f" + i + ".jsonl", Lines.chatFile(1, 1, model)).id());
    }
    String content = Lines.chatFile(4, 2, model);
    FileObject file = upload("content.jsonl", content);
    ids.add(file.id());
    assertThat(file.filename()).isEqualTo("content.jsonl");
    assertThat(file.bytes()).isEqualTo(content.getBytes(StandardCharsets.UTF_8).length);

    List<String> listed = new ArrayList<>();
    client
        .files()
        .list(FileListParams.builder().limit(2).build())
        .autoPager()
        .forEach(f -> listed.add(f.id()));
    assertThat(listed).doesNotHaveDuplicates().containsSubsequence(ids.reversed());

    assertThat(client.files().retrieve(file.id()).id()).isEqualTo(file.id());
    try (HttpResponse response = client.files().content(file.id());
        InputStream body = response.body()) {
      assertThat(new String(body.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(content);
    }
    assertThat(client.files().delete(file.id()).deleted()).isTrue();
    assertThatThrownBy(() -> client.files().retrieve(file.id()))
        .isInstanceOf(NotFoundException.class)
        .hasMessageContaining("No such File object: " + file.id());
    assertThatThrownBy(() -> clientWithKey("sk-nope").files().list())
        .isInstanceOf(UnauthorizedException.class);
    assertThatThrownBy(() -> clientWithKey("sk-java-b").files().retrieve(ids.get(0)))
        .isInstanceOf(NotFoundException.class);
  }

  @Test
  void batchLifecycleAndInvariants() throws Exception {
    int lines = 120;
    FileObject input = upload("batch.jsonl", Lines.chatFile(lines, 4, model));
    Batch created =
        client
            .batches()
            .create(
                chatBatch(input.id())
                    .metadata(
                        BatchCreateParams.Metadata.builder()
                            .putAdditionalProperty("owner", JsonValue.from("java-client"))
                            .build())
                    .build());
    assertThat(created.status()).isEqualTo(Batch.Status.VALIDATING);

    Batch batch = awaitTerminal(created.id());
    assertThat(batch.status()).isEqualTo(Batch.Status.COMPLETED);
    assertThat(batch.requestCounts().orElseThrow().completed()).isEqualTo(lines);
    assertThat(batch.usage().orElseThrow().totalTokens()).isPositive();
    assertThat(batch.inProgressAt().orElseThrow()).isGreaterThanOrEqualTo(batch.createdAt());
    assertThat(batch.completedAt().orElseThrow())
        .isGreaterThanOrEqualTo(batch.finalizingAt().orElseThrow());

    List<JsonNode> output = download(batch.outputFileId().orElseThrow());
    JsonNode batchJson =
        Api.parse(new Api(APP.getLocalPort(), "sk-java").get("/v1/batches/" + batch.id()).body());
    Invariants.assertHold(
        batchJson, output, List.of(), IntStream.range(0, lines).mapToObj(i -> "req-" + i).toList());

    List<String> listed = new ArrayList<>();
    client
        .batches()
        .list(BatchListParams.builder().limit(1).build())
        .autoPager()
        .forEach(b -> listed.add(b.id()));
    assertThat(listed).contains(batch.id()).doesNotHaveDuplicates();

    assertThatThrownBy(() -> client.batches().cancel(batch.id()))
        .isInstanceOfSatisfying(
            UnexpectedStatusCodeException.class, e -> assertThat(e.statusCode()).isEqualTo(409));
    assertThatThrownBy(() -> client.batches().retrieve("batch_none"))
        .isInstanceOf(NotFoundException.class);
    assertThatThrownBy(
            () ->
                client
                    .batches()
                    .create(
                        BatchCreateParams.builder()
                            .inputFileId(input.id())
                            .endpoint(BatchCreateParams.Endpoint.V1_IMAGES_GENERATIONS)
                            .completionWindow(BatchCreateParams.CompletionWindow._24H)
                            .build()))
        .isInstanceOf(BadRequestException.class);
  }

  @Test
  void cancelWhileValidatingEndsCancelledWithEveryLineAccountedFor() throws Exception {
    int lines = 2000;
    FileObject input = upload("cancel.jsonl", Lines.chatFile(lines, 10, model));
    Batch created = client.batches().create(chatBatch(input.id()).build());
    Batch cancelling = client.batches().cancel(created.id());
    assertThat(cancelling.status())
        .isIn(Batch.Status.CANCELLING, Batch.Status.CANCELLED, Batch.Status.COMPLETED);

    Batch batch = awaitTerminal(created.id());
    if (batch.status() == Batch.Status.COMPLETED) {
      // The fast simulator may have finished first; the invariants still hold below.
      assertThat(cancelling.status()).isEqualTo(Batch.Status.COMPLETED);
    } else {
      assertThat(batch.status()).isEqualTo(Batch.Status.CANCELLED);
      assertThat(batch.cancelledAt().orElseThrow())
          .isGreaterThanOrEqualTo(batch.cancellingAt().orElseThrow());
      assertThat(client.batches().cancel(created.id()).status()).isEqualTo(Batch.Status.CANCELLED);
    }
    List<JsonNode> output = batch.outputFileId().map(this::download).orElse(List.of());
    List<JsonNode> errors = batch.errorFileId().map(this::download).orElse(List.of());
    JsonNode batchJson =
        Api.parse(new Api(APP.getLocalPort(), "sk-java").get("/v1/batches/" + batch.id()).body());
    Invariants.assertHold(
        batchJson, output, errors, IntStream.range(0, lines).mapToObj(i -> "req-" + i).toList());
    errors.forEach(
        line -> assertThat(line.at("/error/code").asText()).isEqualTo("batch_cancelled"));
  }

  private static BatchCreateParams.Builder chatBatch(String fileId) {
    return BatchCreateParams.builder()
        .inputFileId(fileId)
        .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
        .completionWindow(BatchCreateParams.CompletionWindow._24H);
  }

  private Batch awaitTerminal(String id) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (true) {
      Batch batch = client.batches().retrieve(id);
      switch (batch.status().value()) {
        case COMPLETED, FAILED, EXPIRED, CANCELLED -> {
          return batch;
        }
        default -> {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("Batch " + id + " did not finish: " + batch.status());
          }
          Thread.sleep(200);
        }
      }
    }
  }

  private List<JsonNode> download(String fileId) {
    try (HttpResponse response = client.files().content(fileId);
        InputStream body = response.body()) {
      List<JsonNode> lines = new ArrayList<>();
      for (String line : new String(body.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isEmpty()) {
          lines.add(Api.parse(line));
        }
      }
      return lines;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
