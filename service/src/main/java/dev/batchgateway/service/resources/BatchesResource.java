package dev.batchgateway.service.resources;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.batchgateway.activities.logging.LogContext;
import dev.batchgateway.activities.model.ErrorText;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.model.Ids;
import dev.batchgateway.activities.model.Usage;
import dev.batchgateway.service.BatchLimits;
import dev.batchgateway.service.api.BatchJson;
import dev.batchgateway.service.api.ListPage;
import dev.batchgateway.service.auth.ApiKeyFilter;
import dev.batchgateway.service.errors.ApiException;
import dev.batchgateway.service.model.BatchRecord;
import dev.batchgateway.service.port.ApiMetadataStore;
import dev.batchgateway.service.port.BatchEngine;
import dev.batchgateway.service.quota.BatchQuotas;
import dev.batchgateway.service.quota.Quota;
import dev.batchgateway.service.quota.QuotaMetrics;
import dev.batchgateway.service.quota.QuotaSettings;
import dev.batchgateway.workflows.BatchInput;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.RequestCounts;
import io.dropwizard.util.Duration;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The OpenAI Batches API, plus the {@code priority} extension. */
@Path("/v1/batches")
@Produces(MediaType.APPLICATION_JSON)
public class BatchesResource {
  private static final Logger log = LoggerFactory.getLogger(BatchesResource.class);
  static final List<String> ENDPOINTS =
      List.of(
          "/v1/chat/completions",
          "/v1/completions",
          "/v1/embeddings",
          "/v1/responses",
          "/v1/moderations");
  static final Set<String> CREATE_FIELDS =
      Set.of(
          "input_file_id",
          "endpoint",
          "completion_window",
          "metadata",
          "output_expires_after",
          "priority",
          "sort_by_prefix");
  private static final long WAIT_FOR_WORKFLOW_MILLIS = 3000;

  /** Batch requests are small JSON objects; anything far larger is refused unread. */
  private static final int MAX_JSON_BODY_BYTES = 1024 * 1024;

  private static final long DRAIN_LIMIT_BYTES = 16L * 1024 * 1024;

  private final ApiMetadataStore metadata;
  private final BatchEngine engine;
  private final BatchLimits limits;
  private final QuotaSettings quotas;
  private final QuotaMetrics quotaMetrics;
  private final ObjectMapper json;
  private final Clock clock;

  public BatchesResource(
      ApiMetadataStore metadata,
      BatchEngine engine,
      BatchLimits limits,
      QuotaSettings quotas,
      QuotaMetrics quotaMetrics,
      ObjectMapper json,
      Clock clock) {
    this.metadata = metadata;
    this.engine = engine;
    this.limits = limits;
    this.quotas = quotas;
    this.quotaMetrics = quotaMetrics;
    this.json = json;
    this.clock = clock;
  }

  @POST
  @Consumes(MediaType.WILDCARD)
  public ObjectNode create(@Context ContainerRequestContext request, InputStream body)
      throws IOException {
    String tenant = ApiKeyFilter.tenant(request);
    JsonNode input = readBody(body);
    for (Iterator<String> names = input.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!CREATE_FIELDS.contains(name)) {
        throw ApiException.badRequest(
            "Unrecognized request argument supplied: " + ErrorText.quote(name),
            ErrorText.quote(name));
      }
    }
    String inputFileId = requiredString(input, "input_file_id");
    String endpoint = requiredString(input, "endpoint");
    if (!ENDPOINTS.contains(endpoint)) {
      throw ApiException.badRequest(
          "Invalid value for 'endpoint': must be one of " + String.join(", ", ENDPOINTS) + ".",
          "endpoint",
          "invalid_value");
    }
    String window = requiredString(input, "completion_window");
    Duration windowLength = limits.getCompletionWindows().get(window);
    if (windowLength == null) {
      throw ApiException.badRequest(
          "Invalid value for 'completion_window': supported values are "
              + String.join(", ", limits.getCompletionWindows().keySet())
              + ".",
          "completion_window",
          "invalid_value");
    }
    String metadataJson = RequestChecks.metadata(json, input.get("metadata"));
    Long outputExpiresAfter = RequestChecks.outputExpiresAfter(input.get("output_expires_after"));
    int priority = RequestChecks.priority(input.get("priority"), limits, tenant);
    boolean sortByPrefix = RequestChecks.flag(input.get("sort_by_prefix"), limits.isSortByPrefix());

    long now = clock.instant().getEpochSecond();
    FileRecord file =
        metadata
            .findLiveFile(tenant, inputFileId, now)
            .orElseThrow(
                () ->
                    ApiException.badRequest(
                        "No such File object: " + ErrorText.quote(inputFileId), "input_file_id"));
    if (!FileRecord.PURPOSE_BATCH.equals(file.purpose())) {
      throw ApiException.badRequest(
          "The input file must have purpose 'batch', not '"
              + ErrorText.quote(file.purpose())
              + "'.",
          "input_file_id");
    }

    long expiresAt = now + windowLength.toSeconds();
    String batchId = Ids.newBatchId();
    LogContext.put(LogContext.BATCH_ID, batchId);
    BatchRecord row =
        new BatchRecord(
            batchId,
            tenant,
            endpoint,
            inputFileId,
            window,
            BatchStatus.VALIDATING,
            now,
            expiresAt,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            metadataJson,
            null,
            priority,
            outputExpiresAfter,
            RequestCounts.ZERO,
            Usage.ZERO);
    // The row first, marked as not started; the workflow (id = batch id); then the mark. A
    // process that dies in between leaves the mark unset, and the StartReconciler settles it.
    requireEngine();
    QuotaSettings.Limits own = quotas.limitsFor(tenant);
    ApiMetadataStore.BatchInsert insert =
        metadata.insertBatchWithinQuota(row, own.maxActiveBatches(), own.maxQueuedRequests());
    switch (insert.outcome()) {
      case NO_INPUT_FILE ->
          throw ApiException.badRequest(
              "No such File object: " + ErrorText.quote(inputFileId), "input_file_id");
      case OVER_QUOTA -> throw overQuota(tenant, own, insert);
      case INSERTED -> {}
    }
    try {
      engine.start(
          new BatchInput(
              row.id(),
              tenant,
              endpoint,
              inputFileId,
              expiresAt,
              priority,
              limits.getParallelChunks(),
              sortByPrefix));
    } catch (RuntimeException e) {
      settleFailedStart(tenant, row.id(), e);
    }
    metadata.markWorkflowStarted(tenant, row.id());
    return BatchJson.render(json, row);
  }

  /** The 429 for a create the batch quotas refused; nothing was inserted or started. */
  private ApiException overQuota(
      String tenant, QuotaSettings.Limits own, ApiMetadataStore.BatchInsert insert) {
    Quota passed =
        BatchQuotas.passed(
            insert.load(), insert.newRequests(), own.maxActiveBatches(), own.maxQueuedRequests());
    quotaMetrics.refused(passed);
    log.info(
        "Refused a batch of tenant {} ({} requests): {} unfinished batches, {} queued requests,"
            + " over its {} quota",
        tenant,
        insert.newRequests(),
        insert.load().activeBatches(),
        insert.load().queuedRequests(),
        passed.label());
    return BatchQuotas.refusal(
        tenant,
        passed,
        insert.load(),
        insert.newRequests(),
        own.maxActiveBatches(),
        own.maxQueuedRequests());
  }

  /**
   * Fails at once, with nothing changed, when Temporal does not answer: the SDK would otherwise
   * retry the call for a minute while the client waits.
   */
  private void requireEngine() {
    try {
      engine.requireReachable();
    } catch (BatchEngine.UnavailableException e) {
      log.warn("Refusing a batch change: {}", e.getMessage());
      throw ApiException.unavailable(
          "The batch engine (Temporal) is not reachable right now; nothing was changed. Try"
              + " again shortly.");
    }
  }

  /**
   * A start call that failed may still have started the workflow (a timeout after the server took
   * it): then the batch stands. Only a workflow Temporal does not know lets the row go.
   */
  private void settleFailedStart(String tenant, String batchId, RuntimeException failure) {
    boolean exists;
    try {
      exists = engine.exists(batchId);
    } catch (RuntimeException e) {
      log.error(
          "Could not start the workflow of batch {}, nor tell whether it started",
          batchId,
          failure);
      throw ApiException.unavailable(
          "The batch engine did not confirm that batch "
              + batchId
              + " started. Within a few minutes it either runs or is marked failed; see GET"
              + " /v1/batches/"
              + batchId
              + ".");
    }
    if (exists) {
      log.warn("Starting batch {} reported an error but its workflow runs: {}", batchId, failure);
      return;
    }
    log.error("Could not start the workflow of batch {}", batchId, failure);
    metadata.deleteBatch(tenant, batchId);
    throw ApiException.unavailable(
        "The batch engine is not reachable right now; the batch was not created. Try again.");
  }

  @GET
  public ListPage<ObjectNode> list(
      @Context ContainerRequestContext request,
      @QueryParam("after") String after,
      @QueryParam("limit") String limitParam) {
    String tenant = ApiKeyFilter.tenant(request);
    int limit = Pagination.limit(limitParam, 1, 100, 20);
    String cursor = FilesResource.emptyToNull(after);
    List<BatchRecord> rows =
        metadata
            .listBatches(tenant, cursor, limit)
            .orElseThrow(
                () ->
                    ApiException.badRequest(
                        "No batch found with id '" + ErrorText.quote(after) + "'.", "after"));
    return ListPage.of(rows, limit, row -> BatchJson.render(json, row), BatchRecord::id);
  }

  @GET
  @Path("/{id}")
  public ObjectNode retrieve(@Context ContainerRequestContext request, @PathParam("id") String id) {
    return BatchJson.render(json, find(request, id));
  }

  /**
   * Signals the workflow, which records {@code cancelling} itself; the answer waits a moment for
   * that so the caller sees the new status.
   */
  @POST
  @Path("/{id}/cancel")
  @Consumes(MediaType.WILDCARD)
  public ObjectNode cancel(@Context ContainerRequestContext request, @PathParam("id") String id)
      throws InterruptedException {
    BatchRecord batch = find(request, id);
    switch (batch.status()) {
      case CANCELLING, CANCELLED -> {
        return BatchJson.render(json, batch);
      }
      case COMPLETED, FAILED, EXPIRED -> throw cannotCancel(batch.status());
      default -> {}
    }
    requireEngine();
    engine.cancel(id, "cancelled through the API");
    BatchRecord latest =
        awaitChange(
            request,
            id,
            row -> row.status() == BatchStatus.CANCELLING || row.status().isTerminal());
    if (latest.status() == BatchStatus.COMPLETED
        || latest.status() == BatchStatus.FAILED
        || latest.status() == BatchStatus.EXPIRED) {
      throw cannotCancel(latest.status());
    }
    return BatchJson.render(json, latest);
  }

  /**
   * Extension: changes the priority of a running batch; its running chunks ask for permits with it
   * within seconds. Asking for the priority the batch already has changes nothing and sends no
   * signal.
   */
  @POST
  @Path("/{id}/priority")
  @Consumes(MediaType.WILDCARD)
  public ObjectNode reprioritize(
      @Context ContainerRequestContext request, @PathParam("id") String id, InputStream body)
      throws IOException, InterruptedException {
    BatchRecord batch = find(request, id);
    JsonNode input = readBody(body);
    if (!input.has("priority")) {
      throw ApiException.badRequest("Missing required parameter: 'priority'.", "priority");
    }
    int priority = RequestChecks.priority(input.get("priority"), limits, batch.tenant());
    if (batch.status().isTerminal()) {
      throw ApiException.conflict(
          "Cannot change the priority of a batch with status '" + batch.status().wire() + "'.");
    }
    if (batch.priority() == priority) {
      // Already recorded by the workflow: a signal would only add events to its history.
      return BatchJson.render(json, batch);
    }
    requireEngine();
    engine.reprioritize(id, priority);
    BatchRecord latest = awaitChange(request, id, row -> row.priority() == priority);
    if (latest.priority() != priority && latest.status().isTerminal()) {
      throw ApiException.conflict(
          "Cannot change the priority of a batch with status '" + latest.status().wire() + "'.");
    }
    return BatchJson.render(json, latest);
  }

  /** Polls the batch row until the workflow has recorded what was asked, for a few seconds. */
  private BatchRecord awaitChange(
      ContainerRequestContext request, String id, java.util.function.Predicate<BatchRecord> changed)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + WAIT_FOR_WORKFLOW_MILLIS;
    BatchRecord latest = find(request, id);
    while (!changed.test(latest) && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
      latest = find(request, id);
    }
    return latest;
  }

  private static ApiException cannotCancel(BatchStatus status) {
    return ApiException.conflict("Cannot cancel a batch with status '" + status.wire() + "'.");
  }

  private BatchRecord find(ContainerRequestContext request, String id) {
    BatchRecord batch =
        metadata
            .findBatch(ApiKeyFilter.tenant(request), id)
            .orElseThrow(
                () ->
                    ApiException.notFound(
                        "No batch found with id '" + ErrorText.quote(id) + "'.", "id"));
    // Only an id that names one of the tenant's batches goes into the log lines.
    LogContext.put(LogContext.BATCH_ID, batch.id());
    return batch;
  }

  private JsonNode readBody(InputStream body) throws IOException {
    byte[] bytes = body.readNBytes(MAX_JSON_BODY_BYTES + 1);
    if (bytes.length > MAX_JSON_BODY_BYTES) {
      // Read (and drop) a bounded rest, so that a client still sending gets the answer instead
      // of a reset connection.
      try {
        body.transferTo(new LimitedSink(DRAIN_LIMIT_BYTES));
      } catch (IOException farTooLarge) {
        // Past the drain limit the connection is dropped after this answer; still say why.
      }
      throw ApiException.tooLarge(
          "The request body is larger than " + MAX_JSON_BODY_BYTES + " bytes.", null);
    }
    JsonNode input;
    try {
      input = bytes.length == 0 ? null : json.readTree(bytes);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw ApiException.badRequest(
          "We could not parse the JSON body of your request: " + e.getOriginalMessage(), null);
    }
    if (input == null || input.isMissingNode() || !input.isObject()) {
      throw ApiException.badRequest("The request body must be a JSON object.", null);
    }
    return input;
  }

  /** Discards what is written to it, failing past a limit so a huge body is not read to the end. */
  private static final class LimitedSink extends java.io.OutputStream {
    private long remaining;

    LimitedSink(long limit) {
      this.remaining = limit;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      remaining -= len;
      if (remaining < 0) {
        throw new IOException("Request body far over the limit; not reading the rest");
      }
    }
  }

  private static String requiredString(JsonNode input, String field) {
    JsonNode value = input.get(field);
    if (value == null || value.isNull()) {
      throw ApiException.badRequest("Missing required parameter: '" + field + "'.", field);
    }
    if (!value.isTextual() || value.asText().isEmpty()) {
      throw ApiException.badRequest("'" + field + "' must be a non-empty string.", field);
    }
    return value.asText();
  }
}
