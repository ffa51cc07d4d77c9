-- 書かない窓口: answers a resident filled in at home to finish at the counter, found by the
-- code in their QR code. Deleted when used or when they expire.
CREATE TABLE counter_prefills (
    tenant_id TEXT NOT NULL,
    code TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    answers TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, code)
);
CREATE INDEX counter_prefills_by_expiry ON counter_prefills (expires_at);
