-- API keys made with `keys create`. The secret part of a key is never stored: only a per-key
-- random salt and HMAC-SHA256(salt, secret). The id is the key's public prefix, so a presented
-- key is found by its id and checked against one row, without scanning.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    salt        BYTEA NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_at);
