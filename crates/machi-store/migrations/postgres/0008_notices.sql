-- お知らせ: notices by category and area, with urgency, publish and expiry times.
CREATE TABLE notices (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    department_code TEXT NOT NULL,
    title_ja TEXT NOT NULL,
    title_en TEXT NOT NULL DEFAULT '',
    body_ja TEXT NOT NULL,
    body_en TEXT NOT NULL DEFAULT '',
    categories TEXT NOT NULL,
    areas TEXT NOT NULL,
    urgency TEXT NOT NULL,
    publish_at TEXT NOT NULL,
    expires_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX notices_by_publish ON notices (tenant_id, publish_at);
