-- Attachments and open-data files in the database, content-addressed by SHA-256, so that every
-- node of a deployment on PostgreSQL serves every file (nothing lives on one node's disk). On
-- SQLite, one node by design, files stay in <data-dir>/attachments and this table stays empty.
CREATE TABLE stored_files (
    sha256 TEXT PRIMARY KEY,
    size_bytes BIGINT NOT NULL,
    content BYTEA NOT NULL,
    created_at TEXT NOT NULL
);
