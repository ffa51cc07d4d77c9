-- オープンデータカタログ: datasets (CKAN packages) published by a department (a CKAN
-- organization), their resources, and the tags and groups (the national recommended dataset
-- categories) they carry, in link tables so that search filters and facets are index lookups.
CREATE TABLE od_datasets (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    title_ja TEXT NOT NULL,
    title_en TEXT NOT NULL DEFAULT '',
    notes_ja TEXT NOT NULL DEFAULT '',
    notes_en TEXT NOT NULL DEFAULT '',
    department_code TEXT NOT NULL,
    license_id TEXT NOT NULL,
    frequency TEXT NOT NULL DEFAULT '',
    spatial TEXT NOT NULL DEFAULT '',
    temporal_start TEXT NOT NULL DEFAULT '',
    temporal_end TEXT NOT NULL DEFAULT '',
    contact_name TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL DEFAULT '',
    search_text TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, department_code) REFERENCES departments(tenant_id, code)
);
CREATE UNIQUE INDEX od_datasets_by_name ON od_datasets (tenant_id, name);
CREATE INDEX od_datasets_by_modified ON od_datasets (tenant_id, state, modified_at);

CREATE TABLE od_dataset_tags (
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (tenant_id, dataset_id, tag)
);
CREATE INDEX od_tags_by_tag ON od_dataset_tags (tenant_id, tag);

CREATE TABLE od_dataset_groups (
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, dataset_id, group_name)
);
CREATE INDEX od_groups_by_group ON od_dataset_groups (tenant_id, group_name);

CREATE TABLE od_resources (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    media_type TEXT NOT NULL DEFAULT '',
    size_bytes BIGINT,
    file_sha256 TEXT,
    standard TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX od_resources_by_dataset ON od_resources (tenant_id, dataset_id, position);
CREATE INDEX od_resources_by_format ON od_resources (tenant_id, format);
