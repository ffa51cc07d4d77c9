-- 情報資産台帳 (the IT asset ledger): one row per system, keyed by the city's own 管理番号.
-- Dates are ISO 8601 text (YYYY-MM-DD), so text order is date order on both databases; the
-- enumerations hold their codes (machi_core::assets). Changes are recorded in the audit log.
CREATE TABLE assets (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    department_code TEXT NOT NULL,
    purpose TEXT NOT NULL,
    vendor TEXT NOT NULL,
    contract_start TEXT,
    contract_end TEXT,
    yearly_cost BIGINT,
    hosting TEXT NOT NULL,
    confidentiality BIGINT NOT NULL,
    integrity BIGINT NOT NULL,
    availability BIGINT NOT NULL,
    personal_data BIGINT NOT NULL,
    standard_business TEXT,
    migration_status TEXT NOT NULL,
    end_of_life TEXT,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, department_code) REFERENCES departments(tenant_id, code)
);
CREATE INDEX assets_by_department ON assets (tenant_id, department_code);

-- The plan measures (施策) a system serves. No foreign key to plan_nodes: re-importing a plan
-- replaces its nodes, and a link is checked against the plans when it is written.
CREATE TABLE asset_measures (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, plan_id, node_id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets(tenant_id, id)
);

-- Reminders sent (90 and 30 days before a contract end or end of life), so each goes once. The
-- deadline's date is part of the key: a renewed contract is reminded of again.
CREATE TABLE asset_reminders (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    deadline TEXT NOT NULL,
    days_before BIGINT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, kind, deadline, days_before),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets(tenant_id, id)
);
