-- The PDCA cycle of a plan. Everything here is keyed by the node's id, not by a plan_nodes row,
-- so that re-importing a revised plan keeps the progress of every measure it still has.

-- 年度実行計画: what a measure sets out to do in one fiscal year.
CREATE TABLE plan_actions (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    fy INTEGER NOT NULL,
    text TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, node_id, fy)
);

-- 進捗報告 by the owning department; every report is kept, the latest of a year is current.
CREATE TABLE plan_reports (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    fy INTEGER NOT NULL,
    status TEXT NOT NULL,
    narrative TEXT NOT NULL,
    evidence TEXT NOT NULL,
    department_code TEXT,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX plan_reports_by_node ON plan_reports (tenant_id, plan_id, node_id, fy, reported_at);

-- CIO評価 of a measure's year; every evaluation is kept, the latest is current.
CREATE TABLE plan_evaluations (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    fy INTEGER NOT NULL,
    grade TEXT NOT NULL,
    comment TEXT NOT NULL,
    evaluated_by TEXT NOT NULL,
    evaluated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX plan_evaluations_by_node ON plan_evaluations (tenant_id, plan_id, node_id, fy, evaluated_at);

-- 実績値 of a KPI for a fiscal year, as the department reported it (a decimal as text).
CREATE TABLE kpi_actuals (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    kpi_id TEXT NOT NULL,
    fy INTEGER NOT NULL,
    value TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, kpi_id, fy)
);

-- 改定履歴 kept by machi: each import or edit of a plan, why, and what changed.
CREATE TABLE plan_revisions (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    reason TEXT NOT NULL,
    changes TEXT NOT NULL,
    revised_by TEXT NOT NULL,
    revised_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, number)
);

-- Monthly values of the figures machi computes (live KPIs), so that trends are kept.
CREATE TABLE metric_snapshots (
    tenant_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    month TEXT NOT NULL,
    value TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, metric, month)
);
