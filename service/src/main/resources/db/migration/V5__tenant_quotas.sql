-- Tenant quotas on batches. An upload records how many requests (non-blank lines) its file holds,
-- so a create knows what the new batch adds to the tenant's queued requests before validation has
-- read the file; files from before this column have none (NULL) and their batches count from
-- validation on (total_requests). The partial index serves the per-tenant count of unfinished
-- batches that every create makes when a quota applies.
ALTER TABLE files ADD COLUMN request_lines BIGINT;

CREATE INDEX batches_unfinished_by_tenant ON batches (tenant)
    WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');
