package dev.batchgateway.workflows.cleanup;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.TestWorkflowExtension;
import io.temporal.worker.Worker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The pass's order, paging and budget, against scripted activities. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CleanupWorkflowTest {
  private static final long DAY = 86_400;

  @RegisterExtension
  static final TestWorkflowExtension temporal =
      TestWorkflowExtension.newBuilder().setDoNotStart(true).build();

  private Scripted activities;

  @BeforeEach
  void register(TestWorkflowEnvironment env, Worker worker) {
    activities = new Scripted();
    worker.registerWorkflowImplementationTypes(CleanupWorkflowImpl.class);
    worker.registerActivitiesImplementations(activities);
    env.start();
  }

  private static CleanupReport run(WorkflowClient client, Worker worker, CleanupRequest request) {
    return client
        .newWorkflowStub(
            CleanupWorkflow.class,
            WorkflowOptions.newBuilder().setTaskQueue(worker.getTaskQueue()).build())
        .run(request);
  }

  @Test
  void pagesEachStepUntilItReportsNoMoreInOrder(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    activities.expire.addAll(List.of(new CleanupCount(10, true), new CleanupCount(3, false)));
    activities.purge.addAll(List.of(new CleanupCount(10, true), new CleanupCount(10, true)));
    activities.purge.add(new CleanupCount(0, false));
    activities.work.add(new CleanupCount(2, false));
    activities.batches.add(new CleanupCount(1, false));

    CleanupReport report = run(client, worker, new CleanupRequest(10, 50, 30 * DAY, 3600));

    assertThat(report).isEqualTo(new CleanupReport(13, 20, 2, 1, true));
    assertThat(activities.calls)
        .containsExactly("expire", "expire", "purge", "purge", "purge", "work", "batches");
  }

  @Test
  void stopsAStepAtItsPageBudgetAndSaysWorkIsLeft(WorkflowClient client, Worker worker) {
    for (int i = 0; i < 5; i++) {
      activities.expire.add(new CleanupCount(4, true));
    }
    activities.purge.add(new CleanupCount(0, false));
    activities.work.add(new CleanupCount(0, false));
    activities.batches.add(new CleanupCount(0, false));

    CleanupReport report = run(client, worker, new CleanupRequest(4, 3, 30 * DAY, 3600));

    assertThat(report.filesExpired()).isEqualTo(12);
    assertThat(report.finished()).isFalse();
    assertThat(activities.calls.stream().filter("expire"::equals).count()).isEqualTo(3);
  }

  @Test
  void cutOffsFollowWorkflowTimeWhichSkipsAhead(
      TestWorkflowEnvironment env, WorkflowClient client, Worker worker) {
    CleanupRequest request = new CleanupRequest(100, 5, 30 * DAY, 3600);
    for (int i = 0; i < 2; i++) {
      activities.expire.add(new CleanupCount(0, false));
      activities.purge.add(new CleanupCount(0, false));
      activities.work.add(new CleanupCount(0, false));
      activities.batches.add(new CleanupCount(0, false));
    }
    run(client, worker, request);
    env.sleep(Duration.ofDays(2));
    run(client, worker, request);

    long first = activities.asOf.get(0);
    long second = activities.asOf.get(1);
    // The test server may skip further than asked (to timers it still holds), never less.
    assertThat(second - first).isGreaterThanOrEqualTo(2 * DAY);
    assertThat(activities.workBefore).containsExactly(first - 3600, second - 3600);
    assertThat(activities.retentionBefore).containsExactly(first - 30 * DAY, second - 30 * DAY);
    assertThat(activities.limits).containsOnly(100);
  }

  /** Answers each step from its queue and records what it was asked. */
  static final class Scripted implements CleanupActivities {
    final Deque<CleanupCount> expire = new ArrayDeque<>();
    final Deque<CleanupCount> purge = new ArrayDeque<>();
    final Deque<CleanupCount> work = new ArrayDeque<>();
    final Deque<CleanupCount> batches = new ArrayDeque<>();
    final List<String> calls = new ArrayList<>();
    final List<Long> asOf = new ArrayList<>();
    final List<Long> workBefore = new ArrayList<>();
    final List<Long> retentionBefore = new ArrayList<>();
    final List<Integer> limits = new ArrayList<>();

    @Override
    public synchronized CleanupCount expireFiles(CleanupPage page) {
      calls.add("expire");
      asOf.add(page.asOfEpochSeconds());
      limits.add(page.limit());
      return expire.removeFirst();
    }

    @Override
    public synchronized CleanupCount purgeFiles(CleanupPage page) {
      calls.add("purge");
      return purge.removeFirst();
    }

    @Override
    public synchronized CleanupCount purgeBatchWork(CleanupWorkPage page) {
      calls.add("work");
      workBefore.add(page.endedBeforeEpochSeconds());
      return work.removeFirst();
    }

    @Override
    public synchronized CleanupCount deleteBatches(CleanupWorkPage page) {
      calls.add("batches");
      retentionBefore.add(page.endedBeforeEpochSeconds());
      return batches.removeFirst();
    }
  }
}
