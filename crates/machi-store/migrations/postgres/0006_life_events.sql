-- ライフイベント: bundles of procedures a life event brings (birth, moving, death), as each
-- city defines them, and the link between applications made together in one bundle.
CREATE TABLE life_event_bundles (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE applications ADD COLUMN bundle_id TEXT;
CREATE INDEX applications_by_bundle ON applications (tenant_id, bundle_id) WHERE bundle_id IS NOT NULL;
