-- API tokens of staff accounts, for the write actions of the CKAN API (and scripts). Only the
-- SHA-256 of a token is kept; the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, email) REFERENCES users(tenant_id, email)
);
CREATE UNIQUE INDEX api_tokens_by_hash ON api_tokens (token_sha256);
