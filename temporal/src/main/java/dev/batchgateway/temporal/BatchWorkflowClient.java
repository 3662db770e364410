package dev.batchgateway.temporal;

import dev.batchgateway.workflows.BatchInput;
import dev.batchgateway.workflows.BatchSearchAttributes;
import dev.batchgateway.workflows.BatchStatus;
import dev.batchgateway.workflows.BatchWorkflow;
import dev.batchgateway.workflows.CancelRequest;
import dev.batchgateway.workflows.ReprioritizeRequest;
import dev.batchgateway.workflows.TaskQueues;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.workflowservice.v1.DescribeNamespaceRequest;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.SearchAttributes;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Starts and signals batch workflows on behalf of the REST API. */
public final class BatchWorkflowClient {
  private final WorkflowClient client;

  public BatchWorkflowClient(WorkflowClient client) {
    this.client = client;
  }

  /** How long a successful reachability check is trusted. */
  private static final long REACHABLE_FOR_NANOS = TimeUnit.SECONDS.toNanos(1);

  private volatile long reachableAtNanos;
  private volatile boolean everReachable;

  /**
   * Throws {@link TemporalUnavailableException} unless the Temporal frontend answered within two
   * seconds (now, or less than a second ago). Calls that change a batch ask this first, so that
   * with Temporal down they fail at once instead of waiting out the SDK's retries.
   */
  public void requireReachable() {
    long now = System.nanoTime();
    if (everReachable && now - reachableAtNanos < REACHABLE_FOR_NANOS) {
      return;
    }
    try {
      client
          .getWorkflowServiceStubs()
          .blockingStub()
          .withDeadlineAfter(2, TimeUnit.SECONDS)
          .describeNamespace(
              DescribeNamespaceRequest.newBuilder()
                  .setNamespace(client.getOptions().getNamespace())
                  .build());
      reachableAtNanos = System.nanoTime();
      everReachable = true;
    } catch (StatusRuntimeException e) {
      throw new TemporalUnavailableException(e);
    }
  }

  /** Starts the batch's workflow; its workflow id is the batch id. */
  public void start(BatchInput input) {
    BatchWorkflow workflow =
        client.newWorkflowStub(
            BatchWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId(input.batchId())
                .setTaskQueue(TaskQueues.BATCH)
                .setTypedSearchAttributes(
                    SearchAttributes.newBuilder()
                        .set(BatchSearchAttributes.STATUS, BatchStatus.VALIDATING.wire())
                        .set(BatchSearchAttributes.TENANT, input.tenant())
                        .set(BatchSearchAttributes.PRIORITY, (long) input.priority())
                        .set(
                            BatchSearchAttributes.DEADLINE,
                            OffsetDateTime.ofInstant(
                                Instant.ofEpochSecond(input.expiresAtEpochSeconds()),
                                ZoneOffset.UTC))
                        .build())
                .setMemo(
                    Map.of(
                        "tenant", input.tenant(),
                        "endpoint", input.endpoint(),
                        "input_file_id", input.inputFileId(),
                        "priority", input.priority(),
                        "sort_by_prefix", input.sortByPrefix()))
                .build());
    WorkflowClient.start(workflow::run, input);
  }

  /**
   * Whether Temporal knows a workflow with this batch's id (running or closed). Throws when
   * Temporal cannot be asked.
   */
  public boolean exists(String batchId) {
    try {
      client
          .getWorkflowServiceStubs()
          .blockingStub()
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .describeWorkflowExecution(
              DescribeWorkflowExecutionRequest.newBuilder()
                  .setNamespace(client.getOptions().getNamespace())
                  .setExecution(WorkflowExecution.newBuilder().setWorkflowId(batchId))
                  .build());
      return true;
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }

  /** Returns false when the workflow no longer runs (it already finished). */
  public boolean cancel(String batchId, String reason) {
    return signal(batchId, "cancel", new CancelRequest(reason));
  }

  public boolean reprioritize(String batchId, int priority) {
    return signal(batchId, "reprioritize", new ReprioritizeRequest(priority));
  }

  private boolean signal(String batchId, String name, Object argument) {
    WorkflowStub stub = client.newUntypedWorkflowStub(batchId);
    try {
      stub.signal(name, argument);
      return true;
    } catch (WorkflowNotFoundException e) {
      return false;
    }
  }
}
