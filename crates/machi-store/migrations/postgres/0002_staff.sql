-- The staff console: sign-in sessions, login throttling, the review workflow (department,
-- assignee, due date, who changed what), internal comments, the mail outbox and the
-- hash-chained audit log.
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TEXT;

CREATE TABLE staff_sessions (
    id_sha256 TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    email TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id, email) REFERENCES users(tenant_id, email)
);
CREATE INDEX staff_sessions_by_user ON staff_sessions (tenant_id, email);

ALTER TABLE applications ADD COLUMN department_code TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN assignee TEXT;
ALTER TABLE applications ADD COLUMN due_at TEXT;
UPDATE applications SET department_code = (
    SELECT p.department_code FROM procedures p
    WHERE p.tenant_id = applications.tenant_id AND p.id = applications.procedure_id);
-- The inbox: one department's applications in one status, newest or oldest first.
CREATE INDEX applications_inbox ON applications (tenant_id, department_code, status, submitted_at);
CREATE INDEX applications_inbox_all ON applications (tenant_id, department_code, submitted_at);

ALTER TABLE application_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status';
ALTER TABLE application_events ADD COLUMN actor TEXT NOT NULL DEFAULT '';

CREATE TABLE application_comments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id, receipt_number) REFERENCES applications(tenant_id, receipt_number)
);
CREATE INDEX application_comments_by_receipt ON application_comments (tenant_id, receipt_number, id);

-- The procedure editor's work in progress: a whole definition (with its form), published
-- into procedures/forms as a new form version when ready.
CREATE TABLE procedure_drafts (
    tenant_id TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    department_code TEXT NOT NULL,
    definition TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, procedure_id)
);

CREATE TABLE mail_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sent_at TEXT,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- One row per city: the newest entry of its chain. Updating it first in every audited
-- transaction serialises appends, so two writers never fork the chain.
CREATE TABLE audit_heads (
    tenant_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    sha256 TEXT NOT NULL
);

CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_sha256 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_by_subject ON audit_log (tenant_id, subject, seq);
CREATE INDEX audit_log_by_actor ON audit_log (tenant_id, actor, seq);
