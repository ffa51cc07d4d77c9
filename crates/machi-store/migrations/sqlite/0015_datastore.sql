-- The open-data datastore (CKAN's datastore_*): one registry row per resource that has data.
-- The rows themselves live in one real table per resource, named ds_<16 hex> (a hash of the
-- tenant, the resource and the upload), created and dropped by machi-store/src/datastore.rs
-- rather than by migrations: a re-upload builds a new table and swaps this row to it.
-- fields is JSON: [{"id": "人口", "type": "int"}, …] in column order.
CREATE TABLE datastore_resources (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    resource_id TEXT NOT NULL,
    table_name TEXT NOT NULL UNIQUE,
    fields TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id)
);
