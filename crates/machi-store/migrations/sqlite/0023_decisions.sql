-- 決裁: a decision on an application (承認, 却下, 不許可 …) is proposed (起案) and made along the
-- procedure's 決裁ルート; each made decision gets a 文書番号.
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    -- What the applicant will read with the decision, and whether they are e-mailed.
    note TEXT NOT NULL,
    notify BIGINT NOT NULL,
    -- The roles that approve, in order (JSON array), and the approvals so far
    -- (JSON array of {role, actor, at}).
    route TEXT NOT NULL,
    steps TEXT NOT NULL,
    -- pending, decided or returned (差戻し).
    state TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    document_number TEXT,
    closed_by TEXT,
    closed_at TEXT,
    -- Why it was returned.
    return_note TEXT NOT NULL DEFAULT '',
    FOREIGN KEY (tenant_id, receipt_number) REFERENCES applications(tenant_id, receipt_number)
);
CREATE INDEX decisions_by_receipt ON decisions (tenant_id, receipt_number, id);
-- One decision in progress per application at a time.
CREATE UNIQUE INDEX decisions_one_pending ON decisions (tenant_id, receipt_number) WHERE state = 'pending';
CREATE UNIQUE INDEX decisions_document_numbers ON decisions (tenant_id, document_number);

-- The last 文書番号 given, per city, department and 年度.
CREATE TABLE document_counters (
    tenant_id TEXT NOT NULL,
    department_code TEXT NOT NULL,
    fiscal_year BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, department_code, fiscal_year)
);

-- The 文書番号 of the decision a status change carried out, shown with it in the history.
ALTER TABLE application_events ADD COLUMN document_number TEXT;
