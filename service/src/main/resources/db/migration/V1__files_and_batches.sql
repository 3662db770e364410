-- Files and batches, tenant-scoped. seq gives a stable creation order for cursor pagination;
-- created_at alone has one-second resolution.

CREATE TABLE files (
    id          TEXT PRIMARY KEY,
    seq         BIGSERIAL NOT NULL UNIQUE,
    tenant      TEXT NOT NULL,
    filename    TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    status      TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    -- Deleted files keep their row so a pagination cursor naming them still works.
    deleted_at  BIGINT
);

CREATE INDEX files_by_tenant ON files (tenant, seq);

CREATE TABLE batches (
    id                   TEXT PRIMARY KEY,
    seq                  BIGSERIAL NOT NULL UNIQUE,
    tenant               TEXT NOT NULL,
    endpoint             TEXT NOT NULL,
    input_file_id        TEXT NOT NULL,
    completion_window    TEXT NOT NULL,
    status               TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    in_progress_at       BIGINT,
    finalizing_at        BIGINT,
    completed_at         BIGINT,
    failed_at            BIGINT,
    expired_at           BIGINT,
    cancelling_at        BIGINT,
    cancelled_at         BIGINT,
    output_file_id       TEXT,
    error_file_id        TEXT,
    model                TEXT,
    metadata             TEXT,
    errors               TEXT,
    priority             INTEGER NOT NULL DEFAULT 0,
    output_expires_after BIGINT,
    total_requests       BIGINT NOT NULL DEFAULT 0,
    completed_requests   BIGINT NOT NULL DEFAULT 0,
    failed_requests      BIGINT NOT NULL DEFAULT 0,
    input_tokens         BIGINT NOT NULL DEFAULT 0,
    cached_tokens        BIGINT NOT NULL DEFAULT 0,
    output_tokens        BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens     BIGINT NOT NULL DEFAULT 0,
    total_tokens         BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX batches_by_tenant ON batches (tenant, seq);

-- Progress of each chunk while a batch runs; the batch's live counts are their sum.
CREATE TABLE batch_chunks (
    batch_id         TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    chunk_index      INTEGER NOT NULL,
    completed        BIGINT NOT NULL,
    failed           BIGINT NOT NULL,
    input_tokens     BIGINT NOT NULL,
    cached_tokens    BIGINT NOT NULL,
    output_tokens    BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    total_tokens     BIGINT NOT NULL,
    PRIMARY KEY (batch_id, chunk_index)
);
