-- Expiry and cleanup. A file is first marked deleted (it leaves the API at once), then its bytes
-- are removed and purged_at set; the two steps let a cleanup that died in between pick up where it
-- stopped. A finished batch's work folder is removed once, recorded in work_purged_at.
ALTER TABLE files ADD COLUMN purged_at BIGINT;
ALTER TABLE batches ADD COLUMN work_purged_at BIGINT;

CREATE INDEX files_live_expiring ON files (expires_at) WHERE deleted_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX files_unpurged ON files (deleted_at) WHERE deleted_at IS NOT NULL AND purged_at IS NULL;
CREATE INDEX batches_by_input_file ON batches (input_file_id);
CREATE INDEX batches_unpurged_work ON batches (status) WHERE work_purged_at IS NULL;
