package dev.batchgateway.workflows.cleanup;

import dev.batchgateway.workflows.ActivityPolicies;
import io.temporal.workflow.Workflow;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * Runs the steps in order, each page by page until it reports nothing more or uses its budget.
 * Files expire before their bytes are purged, so a file that expires in this pass loses its bytes
 * in the same pass; batch work folders go before batch records, so a record never disappears with
 * its folder left behind.
 */
public class CleanupWorkflowImpl implements CleanupWorkflow {
  private static final Logger log = Workflow.getLogger(CleanupWorkflowImpl.class);

  private final CleanupActivities activities =
      Workflow.newActivityStub(CleanupActivities.class, ActivityPolicies.cleanup());

  @Override
  public CleanupReport run(CleanupRequest request) {
    long now = Workflow.currentTimeMillis() / 1000;
    CleanupPage page = new CleanupPage(now, request.pageSize());
    Step expired = drain(request, () -> activities.expireFiles(page));
    Step purged = drain(request, () -> activities.purgeFiles(page));
    CleanupWorkPage work =
        new CleanupWorkPage(now - request.workGraceSeconds(), request.pageSize());
    Step folders = drain(request, () -> activities.purgeBatchWork(work));
    CleanupWorkPage retention =
        new CleanupWorkPage(now - request.batchRetentionSeconds(), request.pageSize());
    Step batches = drain(request, () -> activities.deleteBatches(retention));
    CleanupReport report =
        new CleanupReport(
            expired.handled,
            purged.handled,
            folders.handled,
            batches.handled,
            !(expired.more || purged.more || folders.more || batches.more));
    log.info(
        "Cleanup: {} files expired, {} purged, {} batch folders and {} batch records removed",
        report.filesExpired(),
        report.filesPurged(),
        report.batchWorkPurged(),
        report.batchesDeleted());
    return report;
  }

  private static Step drain(CleanupRequest request, Supplier<CleanupCount> pageCall) {
    long handled = 0;
    for (int n = 0; n < request.maxPagesPerStep(); n++) {
      CleanupCount count = pageCall.get();
      handled += count.handled();
      if (!count.more()) {
        return new Step(handled, false);
      }
    }
    return new Step(handled, true);
  }

  private record Step(long handled, boolean more) {}
}
