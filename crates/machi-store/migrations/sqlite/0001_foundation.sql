-- Cities (tenants), departments, the procedure catalog with versioned forms, applications
-- with their status history and attachments, staff users.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name_ja TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    host TEXT UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE departments (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    code TEXT NOT NULL,
    name_ja TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE procedures (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    department_code TEXT NOT NULL,
    name_ja TEXT NOT NULL,
    kana TEXT NOT NULL,
    channel TEXT NOT NULL,
    life_events TEXT NOT NULL,
    search_text TEXT NOT NULL,
    definition TEXT NOT NULL,
    form_version INTEGER,
    published INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, department_code) REFERENCES departments(tenant_id, code)
);
CREATE INDEX procedures_by_kana ON procedures (tenant_id, kana, id);

CREATE TABLE forms (
    tenant_id TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, procedure_id, version),
    FOREIGN KEY (tenant_id, procedure_id) REFERENCES procedures(tenant_id, id)
);

CREATE TABLE receipt_counters (
    tenant_id TEXT NOT NULL,
    day TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE applications (
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    status TEXT NOT NULL,
    answers TEXT NOT NULL,
    access_code_sha256 TEXT NOT NULL,
    made_via TEXT NOT NULL,
    idempotency_key TEXT,
    request_sha256 TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, receipt_number),
    FOREIGN KEY (tenant_id, procedure_id, form_version) REFERENCES forms(tenant_id, procedure_id, version)
);
CREATE INDEX applications_by_procedure ON applications (tenant_id, procedure_id, submitted_at);
-- Partial: most applications come without a key, and an index entry per row would cost a
-- page write in every intake commit for nothing.
CREATE UNIQUE INDEX applications_by_idempotency_key ON applications (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE application_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    status TEXT NOT NULL,
    note_ja TEXT NOT NULL DEFAULT '',
    note_en TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id, receipt_number) REFERENCES applications(tenant_id, receipt_number)
);
CREATE INDEX application_events_by_receipt ON application_events (tenant_id, receipt_number, id);

CREATE TABLE attachments (
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    field TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, receipt_number, field),
    FOREIGN KEY (tenant_id, receipt_number) REFERENCES applications(tenant_id, receipt_number)
);

CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    department_code TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, email)
);

-- Per-deployment secrets (e.g. the seed that makes an idempotent retry get the same access code).
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
