-- 情報化計画・DX推進計画: plans imported from machi-plan/1 files (docs/plan-format.md). The whole
-- parsed file is kept as JSON so nothing the city wrote is lost; the header columns and one row
-- per node make the tree queryable, and progress and KPI tables to come can reference a node.
CREATE TABLE plans (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    city_code TEXT NOT NULL,
    city_name TEXT NOT NULL,
    from_fy BIGINT,
    to_fy BIGINT,
    period_as_printed TEXT,
    document TEXT NOT NULL,
    levels TEXT NOT NULL,
    definition TEXT NOT NULL,
    node_count BIGINT NOT NULL,
    measure_count BIGINT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One row per node of a plan's tree; `node` is the node's JSON without its children.
CREATE TABLE plan_nodes (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    id TEXT NOT NULL,
    parent_id TEXT,
    depth BIGINT NOT NULL,
    label TEXT NOT NULL,
    title TEXT NOT NULL,
    position BIGINT NOT NULL,
    is_measure BIGINT NOT NULL,
    owners TEXT NOT NULL,
    node TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES plans(tenant_id, id)
);
CREATE INDEX plan_nodes_by_parent ON plan_nodes (tenant_id, plan_id, parent_id, position);
