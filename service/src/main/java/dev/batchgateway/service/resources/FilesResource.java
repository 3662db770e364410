package dev.batchgateway.service.resources;

import dev.batchgateway.activities.model.ErrorText;
import dev.batchgateway.activities.model.FileRecord;
import dev.batchgateway.activities.model.Ids;
import dev.batchgateway.activities.model.StorageKeys;
import dev.batchgateway.activities.port.FileStore;
import dev.batchgateway.activities.port.SizeLimitExceededException;
import dev.batchgateway.service.BatchLimits;
import dev.batchgateway.service.api.DeletedFile;
import dev.batchgateway.service.api.FileObject;
import dev.batchgateway.service.api.ListPage;
import dev.batchgateway.service.auth.ApiKeyFilter;
import dev.batchgateway.service.errors.ApiException;
import dev.batchgateway.service.files.RequestLineCounter;
import dev.batchgateway.service.files.StorageQuota;
import dev.batchgateway.service.multipart.MalformedMultipartException;
import dev.batchgateway.service.multipart.MultipartReader;
import dev.batchgateway.service.port.ApiMetadataStore;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** The OpenAI Files API. */
@Path("/v1/files")
@Produces(MediaType.APPLICATION_JSON)
public class FilesResource {
  static final Set<String> PURPOSES =
      Set.of("assistants", "batch", "fine-tune", "vision", "user_data", "evals");
  private static final long MIN_EXPIRY_SECONDS = 3600;
  private static final long MAX_EXPIRY_SECONDS = 2_592_000;
  private static final long BATCH_FILE_EXPIRY_SECONDS = 2_592_000;
  private static final int MAX_FIELD_BYTES = 4096;

  private final ApiMetadataStore metadata;
  private final FileStore store;
  private final BatchLimits limits;
  private final StorageQuota quota;
  private final Clock clock;

  public FilesResource(
      ApiMetadataStore metadata,
      FileStore store,
      BatchLimits limits,
      StorageQuota quota,
      Clock clock) {
    this.metadata = metadata;
    this.store = store;
    this.limits = limits;
    this.quota = quota;
    this.clock = clock;
  }

  /**
   * Streams the file part to the store while reading the form. Fields may come before or after the
   * file, so purpose-specific checks run once the whole form is read; a rejected upload leaves
   * nothing behind.
   */
  @POST
  public FileObject upload(
      @Context ContainerRequestContext request,
      @HeaderParam("Content-Type") String contentType,
      InputStream body)
      throws IOException {
    String tenant = ApiKeyFilter.tenant(request);
    String boundary = MultipartReader.boundaryOf(contentType);
    if (boundary == null) {
      throw ApiException.badRequest(
          "Uploads must be multipart/form-data with a boundary, holding 'file' and 'purpose'.",
          null);
    }
    StorageQuota.Limits ownLimits = quota.limitsFor(tenant);
    if (ownLimits.any()) {
      // Already at a limit: refuse before the body is read, not after it is stored.
      checkQuota(
          tenant, ownLimits, 0, metadata.storageUsage(tenant, clock.instant().getEpochSecond()));
    }
    String fileId = Ids.newFileId();
    String key = StorageKeys.file(tenant, fileId);
    boolean stored = false;
    boolean registered = false;
    try {
      MultipartReader reader = new MultipartReader(body, boundary);
      String purpose = null;
      String anchor = null;
      String seconds = null;
      String filename = null;
      long bytes = -1;
      long requests = 0;
      MultipartReader.Part part;
      while ((part = reader.next()) != null) {
        String name = part.name() == null ? "" : part.name();
        switch (name) {
          case "file" -> {
            if (stored) {
              throw ApiException.badRequest("Send exactly one 'file' part.", "file");
            }
            long limit =
                "batch".equals(purpose) ? limits.maxBatchFileBytes() : limits.maxFileBytes();
            stored = true;
            // Counted on the way through: a batch create needs it before validation reads the file.
            RequestLineCounter counter = new RequestLineCounter(part.body());
            bytes = store.write(key, counter, limit);
            requests = counter.requests();
            filename = part.filename();
          }
          case "purpose" -> purpose = field(part, "purpose");
          case "expires_after[anchor]" -> anchor = field(part, "expires_after[anchor]");
          case "expires_after[seconds]" -> seconds = field(part, "expires_after[seconds]");
          default -> {
            // Unknown fields are ignored, as OpenAI does.
          }
        }
      }
      if (!stored) {
        throw ApiException.badRequest("Missing required parameter: 'file'.", "file");
      }
      if (purpose == null) {
        throw ApiException.badRequest("Missing required parameter: 'purpose'.", "purpose");
      }
      if (!PURPOSES.contains(purpose)) {
        throw ApiException.badRequest(
            "'"
                + ErrorText.quote(purpose)
                + "' is not one of "
                + String.join(", ", PURPOSES.stream().sorted().toList())
                + " - 'purpose'.",
            "purpose");
      }
      if (filename == null || filename.isBlank()) {
        filename = "batch".equals(purpose) ? "upload.jsonl" : "upload";
      }
      if ("batch".equals(purpose)) {
        if (!filename.toLowerCase(Locale.ROOT).endsWith(".jsonl")) {
          throw ApiException.badRequest(
              "Invalid file format for Batch API. Must be .jsonl", "file", "invalid_file_format");
        }
        if (bytes > limits.maxBatchFileBytes()) {
          throw tooLarge(limits.maxBatchFileBytes(), "batch");
        }
      }
      long now = clock.instant().getEpochSecond();
      Long expiresAt = expiresAt(anchor, seconds, purpose, now);
      FileRecord file =
          new FileRecord(
              fileId,
              tenant,
              filename,
              purpose,
              bytes,
              now,
              expiresAt,
              FileRecord.STATUS_PROCESSED,
              key);
      if (ownLimits.any()) {
        Optional<ApiMetadataStore.StorageUsage> over =
            metadata.insertFileWithinQuota(
                file, requests, ownLimits.maxFiles(), ownLimits.maxBytes(), now);
        if (over.isPresent()) {
          checkQuota(tenant, ownLimits, bytes, over.get());
        }
      } else {
        metadata.insertUpload(file, requests);
      }
      registered = true;
      return FileObject.of(file);
    } catch (SizeLimitExceededException e) {
      throw tooLarge(e.limit(), null);
    } catch (MalformedMultipartException e) {
      throw ApiException.badRequest(e.getMessage(), null);
    } finally {
      if (stored && !registered) {
        store.delete(key);
      }
    }
  }

  /**
   * Refuses, with a 429 clients are told not to retry (waiting frees nothing), an upload of {@code
   * bytes} that would take the tenant past a limit.
   */
  private static void checkQuota(
      String tenant, StorageQuota.Limits limits, long bytes, ApiMetadataStore.StorageUsage usage) {
    String message = null;
    if (limits.maxFiles() > 0 && usage.files() + 1 > limits.maxFiles()) {
      message =
          String.format(
              Locale.ROOT,
              "Storage quota exceeded: tenant '%s' stores %,d files and its quota is %,d files."
                  + " Delete files to make room.",
              tenant,
              usage.files(),
              limits.maxFiles());
    } else if (limits.maxBytes() > 0 && usage.bytes() + bytes > limits.maxBytes()) {
      message =
          String.format(
              Locale.ROOT,
              "Storage quota exceeded: tenant '%s' stores %,d bytes and its quota is %,d bytes%s."
                  + " Delete files to make room.",
              tenant,
              usage.bytes(),
              limits.maxBytes(),
              bytes > 0 ? String.format(Locale.ROOT, "; this file has %,d", bytes) : "");
    }
    if (message != null) {
      throw ApiException.quotaExceeded(message);
    }
  }

  private static ApiException tooLarge(long limit, String purpose) {
    return ApiException.tooLarge(
        "File is too large: the limit is "
            + limit
            + " bytes"
            + (purpose == null ? "" : " for purpose '" + ErrorText.quote(purpose) + "'")
            + ".",
        "file");
  }

  private static String field(MultipartReader.Part part, String name) throws IOException {
    ByteArrayOutputStream value = new ByteArrayOutputStream();
    byte[] buffer = new byte[1024];
    int n;
    while ((n = part.body().read(buffer)) != -1) {
      value.write(buffer, 0, n);
      if (value.size() > MAX_FIELD_BYTES) {
        throw ApiException.badRequest("The form field '" + name + "' is too long.", name);
      }
    }
    return value.toString(StandardCharsets.UTF_8).trim();
  }

  private static Long expiresAt(String anchor, String seconds, String purpose, long now) {
    if (anchor == null && seconds == null) {
      return "batch".equals(purpose) ? now + BATCH_FILE_EXPIRY_SECONDS : null;
    }
    if (anchor == null || seconds == null) {
      throw ApiException.badRequest(
          "expires_after needs both 'anchor' and 'seconds'.", "expires_after");
    }
    if (!"created_at".equals(anchor)) {
      throw ApiException.badRequest(
          "expires_after[anchor] must be 'created_at'.", "expires_after.anchor");
    }
    long value;
    try {
      value = Long.parseLong(seconds);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(
          "expires_after[seconds] must be an integer.", "expires_after.seconds");
    }
    if (value < MIN_EXPIRY_SECONDS || value > MAX_EXPIRY_SECONDS) {
      throw ApiException.badRequest(
          "expires_after[seconds] must be between 3600 and 2592000.", "expires_after.seconds");
    }
    return now + value;
  }

  @GET
  public ListPage<FileObject> list(
      @Context ContainerRequestContext request,
      @QueryParam("purpose") String purpose,
      @QueryParam("limit") String limitParam,
      @QueryParam("order") String order,
      @QueryParam("after") String after) {
    String tenant = ApiKeyFilter.tenant(request);
    int limit = Pagination.limit(limitParam, 1, 10_000, 10_000);
    boolean ascending;
    if (order == null || order.equals("desc")) {
      ascending = false;
    } else if (order.equals("asc")) {
      ascending = true;
    } else {
      throw ApiException.badRequest("'order' must be 'asc' or 'desc'.", "order");
    }
    List<FileRecord> rows =
        metadata
            .listFiles(
                tenant,
                emptyToNull(purpose),
                emptyToNull(after),
                ascending,
                limit,
                clock.instant().getEpochSecond())
            .orElseThrow(
                () ->
                    ApiException.badRequest(
                        "No such File object: " + ErrorText.quote(after), "after"));
    return ListPage.of(rows, limit, FileObject::of, FileRecord::id);
  }

  @GET
  @Path("/{id}")
  public FileObject retrieve(@Context ContainerRequestContext request, @PathParam("id") String id) {
    return FileObject.of(find(request, id));
  }

  @DELETE
  @Path("/{id}")
  public DeletedFile delete(@Context ContainerRequestContext request, @PathParam("id") String id)
      throws IOException {
    FileRecord file = find(request, id);
    if (metadata.deleteFile(file.tenant(), file.id(), clock.instant().getEpochSecond())) {
      store.delete(file.storageKey());
    }
    return new DeletedFile(file.id(), "file", true);
  }

  /**
   * Streams the bytes. Declared to produce anything, because the official Python client asks for
   * {@code application/binary}; the answer is always {@code application/octet-stream}.
   */
  @GET
  @Path("/{id}/content")
  @Produces(MediaType.WILDCARD)
  public Response content(@Context ContainerRequestContext request, @PathParam("id") String id)
      throws IOException {
    FileRecord file = find(request, id);
    InputStream in;
    try {
      in = store.open(file.storageKey());
    } catch (NoSuchFileException e) {
      throw ApiException.notFound("No such File object: " + ErrorText.quote(id), "id");
    }
    StreamingOutput output =
        sink -> {
          try (in) {
            in.transferTo(sink);
          }
        };
    return Response.ok(output, MediaType.APPLICATION_OCTET_STREAM_TYPE)
        .header("Content-Length", file.bytes())
        .header(
            "Content-Disposition",
            "attachment; filename=\"" + file.filename().replace("\"", "") + "\"")
        .build();
  }

  /** An expired file answers as a missing one, whether or not cleanup has removed it yet. */
  private FileRecord find(ContainerRequestContext request, String id) {
    return metadata
        .findLiveFile(ApiKeyFilter.tenant(request), id, clock.instant().getEpochSecond())
        .orElseThrow(
            () -> ApiException.notFound("No such File object: " + ErrorText.quote(id), "id"));
  }

  static String emptyToNull(String value) {
    return value == null || value.isEmpty() ? null : value;
  }
}
