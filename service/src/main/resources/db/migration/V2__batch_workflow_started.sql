-- Whether the batch's workflow is known to have started. A create inserts the row with false and
-- sets it once Temporal accepted the start; a row left false (the process died in between) is
-- settled by the start reconciler. Rows from before this column have their workflows.
ALTER TABLE batches ADD COLUMN workflow_started BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX batches_unstarted ON batches (created_at) WHERE NOT workflow_started;
