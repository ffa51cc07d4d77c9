-- お知らせの添付ファイル: files attached to a notice (PDF, JPEG, PNG), stored by SHA-256 in the
-- data directory like application attachments; a row is written only after its file is durable.
CREATE TABLE notice_attachments (
    tenant_id TEXT NOT NULL,
    notice_id TEXT NOT NULL,
    id TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, notice_id, id),
    FOREIGN KEY (tenant_id, notice_id) REFERENCES notices(tenant_id, id)
);
