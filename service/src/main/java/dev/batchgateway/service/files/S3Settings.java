package dev.batchgateway.service.files;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDataSize;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/** The {@code files.s3:} section: which bucket, how to reach it, how to write to it. */
public class S3Settings {
  @NotEmpty @JsonProperty private String bucket = "batch-gateway";

  /** Empty for AWS; the URL of MinIO, Ceph or S3Proxy otherwise. */
  @NotNull @JsonProperty private String endpoint = "";

  @NotEmpty @JsonProperty private String region = "us-east-1";

  /** {@code bucket} in the path rather than the host name, as most S3 servers but AWS need. */
  @JsonProperty private boolean pathStyle;

  /** Put before every key (empty or ending in {@code /}); keys themselves start with the tenant. */
  @NotNull
  @Pattern(regexp = "|.*/", message = "must be empty or end with /")
  @JsonProperty
  private String prefix = "";

  /**
   * Empty: the SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, web
   * identity on EKS, the instance role).
   */
  @NotNull @JsonProperty private String accessKeyId = "";

  @NotNull @JsonProperty private String secretAccessKey = "";

  /** Bytes per multipart part: the memory each open writer holds. */
  @NotNull
  @MinDataSize(value = 5, unit = io.dropwizard.util.DataSizeUnit.MEBIBYTES)
  @JsonProperty
  private DataSize partSize = DataSize.mebibytes(8);

  /**
   * Tries per request, counting the first; the SDK backs off exponentially with jitter. A read that
   * breaks mid-object is resumed as often.
   */
  @Min(1)
  @JsonProperty
  private int maxAttempts = 5;

  /** Empty for the bucket's default, {@code AES256} (SSE-S3) or {@code aws:kms} (SSE-KMS). */
  @NotNull
  @Pattern(regexp = "|AES256|aws:kms", message = "must be empty, AES256 or aws:kms")
  @JsonProperty
  private String serverSideEncryption = "";

  /** The KMS key for {@code aws:kms}; empty for the account's default key. */
  @NotNull @JsonProperty private String kmsKeyId = "";

  @NotNull @JsonProperty private Duration connectTimeout = Duration.seconds(10);

  /** Longest wait for bytes on an open connection. */
  @NotNull @JsonProperty private Duration readTimeout = Duration.seconds(60);

  public String getBucket() {
    return bucket;
  }

  S3Client buildClient() {
    S3ClientBuilder builder =
        S3Client.builder()
            .httpClientBuilder(
                UrlConnectionHttpClient.builder()
                    .connectionTimeout(java.time.Duration.ofMillis(connectTimeout.toMilliseconds()))
                    .socketTimeout(java.time.Duration.ofMillis(readTimeout.toMilliseconds())))
            .region(Region.of(region))
            .forcePathStyle(pathStyle)
            .credentialsProvider(credentials())
            // Checksums only where S3 demands them: MinIO, Ceph and S3Proxy releases differ in
            // which of the newer checksum headers and trailers they take.
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
            // The SDK's standard mode (exponential backoff with jitter, a retry budget shared by
            // the client) rather than its default legacy mode.
            .overrideConfiguration(
                o ->
                    o.retryStrategy(
                        AwsRetryStrategy.standardRetryStrategy().toBuilder()
                            .maxAttempts(maxAttempts)
                            .build()));
    if (!endpoint.isEmpty()) {
      builder.endpointOverride(URI.create(endpoint));
    }
    return builder.build();
  }

  S3FileStore buildStore(S3Client client) {
    return new S3FileStore(
        client,
        bucket,
        prefix,
        new S3Upload.Options(
            Math.toIntExact(partSize.toBytes()),
            serverSideEncryption.isEmpty() ? null : serverSideEncryption,
            kmsKeyId.isEmpty() ? null : kmsKeyId),
        maxAttempts);
  }

  private AwsCredentialsProvider credentials() {
    if (accessKeyId.isEmpty()) {
      return DefaultCredentialsProvider.builder().build();
    }
    return StaticCredentialsProvider.create(
        AwsBasicCredentials.create(accessKeyId, secretAccessKey));
  }
}
