//! The open-data catalog as stored: datasets with their tags, groups and resources. Every write
//! is one audited transaction. Searches run over an in-memory snapshot of the city's catalog
//! (`search`), matched against a normalised search key (width, kana and case folded).

mod revise;
mod search;

pub(crate) use search::CatalogCache;

use machi_core::opendata::catalog::DatasetInput;
use machi_core::text::search_key;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::sessions::random_token;
use crate::{now_text, Result, Store, StoreError};

/// A resource (a file or link) of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRecord {
    pub id: String,
    pub dataset_id: String,
    pub position: i64,
    pub name: String,
    pub description: String,
    pub format: String,
    pub url: String,
    pub media_type: String,
    pub size_bytes: Option<i64>,
    pub file_sha256: Option<String>,
    /// The standard dataset it follows (an id of the definitions), empty when none.
    pub standard: String,
    pub created_at: crate::Time,
    pub modified_at: crate::Time,
}

impl ResourceRecord {
    /// Only rows in the datastore (made by `datastore_create` with a `resource`): no file, no
    /// link.
    pub fn is_datastore_only(&self) -> bool {
        self.file_sha256.is_none() && self.url.is_empty()
    }

    /// Where the resource is fetched, under the site's address `base` (empty for a path): an
    /// uploaded file's download, a datastore-only table's dump (CKAN's `/datastore/dump/{id}`),
    /// or the link given.
    pub fn link(&self, base: &str) -> String {
        if self.file_sha256.is_some() {
            format!("{base}/opendata/resources/{}/download", self.id)
        } else if self.is_datastore_only() {
            format!("{base}/datastore/dump/{}", self.id)
        } else {
            self.url.clone()
        }
    }
}

/// A resource as given: its file is stored elsewhere, by hash.
#[derive(Debug, Clone, Default)]
pub struct ResourceInput {
    pub name: String,
    pub description: String,
    pub format: String,
    pub url: String,
    pub media_type: String,
    pub size_bytes: Option<i64>,
    pub file_sha256: Option<String>,
    pub standard: String,
}

/// A dataset with its tags, groups and resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetRecord {
    pub id: String,
    #[serde(flatten)]
    pub input: DatasetInput,
    /// `active` or `deleted`.
    pub state: String,
    pub created_at: crate::Time,
    pub modified_at: crate::Time,
    pub resources: Vec<ResourceRecord>,
}

/// A filter of a search: CKAN's `fq` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetFilter {
    Tag(String),
    Group(String),
    Organization(String),
    Format(String),
    License(String),
}

/// How search results are ordered (CKAN's `sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DatasetSort {
    #[default]
    ModifiedDesc,
    ModifiedAsc,
    NameAsc,
    NameDesc,
    TitleAsc,
    TitleDesc,
}

/// Which facet to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Tags,
    Groups,
    Organization,
    Format,
    License,
}

/// A catalog search.
#[derive(Debug, Clone, Default)]
pub struct DatasetQuery {
    pub q: String,
    pub filters: Vec<DatasetFilter>,
    pub sort: DatasetSort,
    pub rows: i64,
    pub start: i64,
    pub facets: Vec<Facet>,
    pub facet_limit: i64,
}

/// What a search found.
#[derive(Debug, Clone, Default)]
pub struct DatasetPage {
    pub count: i64,
    pub datasets: Vec<DatasetRecord>,
    /// Per facet asked for: value and count, most frequent first.
    pub facets: Vec<(Facet, Vec<(String, i64)>)>,
}

pub(crate) const DATASET_COLUMNS: &str =
    "id, name, title_ja, title_en, notes_ja, notes_en, department_code, \
    license_id, frequency, spatial, temporal_start, temporal_end, contact_name, contact_email, \
    state, created_at, modified_at";

pub(crate) const RESOURCE_COLUMNS: &str =
    "id, dataset_id, position, name, description, format, url, \
    media_type, size_bytes, file_sha256, standard, created_at, modified_at";

/// Marks a dataset changed at `now` (a resource was added or replaced); `NotStored` when there
/// is no such active dataset.
pub(crate) async fn touch_active_dataset(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    dataset_id: &str,
    now: &str,
) -> Result<()> {
    let touched = sqlx::query(
        "UPDATE od_datasets SET modified_at = $1 WHERE tenant_id = $2 AND id = $3 AND state = 'active'",
    )
    .bind(now)
    .bind(tenant)
    .bind(dataset_id)
    .execute(&mut **tx)
    .await?;
    if touched.rows_affected() == 0 {
        return Err(StoreError::NotStored(format!("no dataset {dataset_id}")));
    }
    Ok(())
}

pub(crate) fn resource(row: &sqlx::any::AnyRow) -> Result<ResourceRecord> {
    Ok(ResourceRecord {
        id: row.try_get("id")?,
        dataset_id: row.try_get("dataset_id")?,
        position: row.try_get("position")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        format: row.try_get("format")?,
        url: row.try_get("url")?,
        media_type: row.try_get("media_type")?,
        size_bytes: row.try_get("size_bytes")?,
        file_sha256: row.try_get("file_sha256")?,
        standard: row.try_get("standard")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

pub(crate) fn dataset_head(row: &sqlx::any::AnyRow) -> Result<DatasetRecord> {
    Ok(DatasetRecord {
        id: row.try_get("id")?,
        input: DatasetInput {
            name: row.try_get("name")?,
            title_ja: row.try_get("title_ja")?,
            title_en: row.try_get("title_en")?,
            notes_ja: row.try_get("notes_ja")?,
            notes_en: row.try_get("notes_en")?,
            organization: row.try_get("department_code")?,
            license_id: row.try_get("license_id")?,
            frequency: row.try_get("frequency")?,
            spatial: row.try_get("spatial")?,
            temporal_start: row.try_get("temporal_start")?,
            temporal_end: row.try_get("temporal_end")?,
            contact_name: row.try_get("contact_name")?,
            contact_email: row.try_get("contact_email")?,
            tags: Vec::new(),
            groups: Vec::new(),
        },
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
        resources: Vec::new(),
    })
}

/// What free text is matched against: names, titles, descriptions and tags, folded.
pub(crate) fn search_text(input: &DatasetInput) -> String {
    let parts = [
        input.name.as_str(),
        &input.title_ja,
        &input.title_en,
        &input.notes_ja,
        &input.notes_en,
    ];
    let mut text: Vec<String> = parts.iter().map(|p| search_key(p)).collect();
    text.extend(input.tags.iter().map(|t| search_key(t)));
    text.join("\n")
}

impl Store {
    /// Creates a dataset, or updates the one with `id`; tags and groups are replaced. A name
    /// another dataset has is a conflict.
    pub async fn save_dataset(
        &self,
        tenant: &str,
        id: Option<&str>,
        input: &DatasetInput,
        actor: &str,
    ) -> Result<DatasetRecord> {
        let now = now_text();
        let mut audited = self.begin_audited(tenant).await?;
        let tx = &mut audited.tx;
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM od_datasets WHERE tenant_id = $1 AND name = $2")
                .bind(tenant)
                .bind(&input.name)
                .fetch_optional(&mut **tx)
                .await?;
        if taken.as_deref().is_some_and(|t| Some(t) != id) {
            return Err(StoreError::conflict(
                format!("名前「{}」はすでに使われています。", input.name),
                format!("the name '{}' is already in use", input.name),
            ));
        }
        let (id, action) = match id {
            Some(id) => (id.to_string(), "dataset.update"),
            None => (new_id(), "dataset.create"),
        };
        let values = [
            input.name.as_str(),
            &input.title_ja,
            &input.title_en,
            &input.notes_ja,
            &input.notes_en,
            &input.organization,
            &input.license_id,
            &input.frequency,
            &input.spatial,
            &input.temporal_start,
            &input.temporal_end,
            &input.contact_name,
            &input.contact_email,
        ];
        let updated = if action == "dataset.update" {
            let mut query = sqlx::query(
                "UPDATE od_datasets SET name = $1, title_ja = $2, title_en = $3, notes_ja = $4, \
                 notes_en = $5, department_code = $6, license_id = $7, frequency = $8, spatial = $9, \
                 temporal_start = $10, temporal_end = $11, contact_name = $12, contact_email = $13, \
                 search_text = $14, state = 'active', modified_at = $15 \
                 WHERE tenant_id = $16 AND id = $17",
            );
            for value in values {
                query = query.bind(value);
            }
            let result = query
                .bind(search_text(input))
                .bind(&now)
                .bind(tenant)
                .bind(&id)
                .execute(&mut **tx)
                .await?;
            result.rows_affected()
        } else {
            let mut query = sqlx::query(
                "INSERT INTO od_datasets (name, title_ja, title_en, notes_ja, notes_en, department_code, \
                 license_id, frequency, spatial, temporal_start, temporal_end, contact_name, contact_email, \
                 search_text, state, created_at, modified_at, tenant_id, id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'active', $15, $15, $16, $17)",
            );
            for value in values {
                query = query.bind(value);
            }
            query
                .bind(search_text(input))
                .bind(&now)
                .bind(tenant)
                .bind(&id)
                .execute(&mut **tx)
                .await?
                .rows_affected()
        };
        if updated == 0 {
            return Err(StoreError::NotStored(format!("no dataset {id}")));
        }
        for (table, column, values) in [
            ("od_dataset_tags", "tag", &input.tags),
            ("od_dataset_groups", "group_name", &input.groups),
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND dataset_id = $2"
            ))
            .bind(tenant)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
            for value in values {
                sqlx::query(&format!(
                    "INSERT INTO {table} (tenant_id, dataset_id, {column}) VALUES ($1, $2, $3)"
                ))
                .bind(tenant)
                .bind(&id)
                .bind(value)
                .execute(&mut **tx)
                .await?;
            }
        }
        let detail = json!({"name": input.name, "title": input.title_ja});
        audited
            .append(&AuditEntry::new(
                actor,
                action,
                &format!("dataset:{id}"),
                detail,
            ))
            .await?;
        audited.commit().await?;
        self.dataset(tenant, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("dataset {id} vanished")))
    }

    /// Adds a resource at the end of a dataset's list, audited.
    pub async fn add_resource(
        &self,
        tenant: &str,
        dataset_id: &str,
        input: &ResourceInput,
        actor: &str,
    ) -> Result<ResourceRecord> {
        let now = now_text();
        let id = new_id();
        let mut audited = self.begin_audited(tenant).await?;
        let tx = &mut audited.tx;
        touch_active_dataset(tx, tenant, dataset_id, &now).await?;
        let position: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM od_resources WHERE tenant_id = $1 AND dataset_id = $2",
        )
        .bind(tenant)
        .bind(dataset_id)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO od_resources (tenant_id, {RESOURCE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)"
        ))
        .bind(tenant)
        .bind(&id)
        .bind(dataset_id)
        .bind(position)
        .bind(&input.name)
        .bind(&input.description)
        .bind(&input.format)
        .bind(&input.url)
        .bind(&input.media_type)
        .bind(input.size_bytes)
        .bind(input.file_sha256.clone())
        .bind(&input.standard)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
        let detail = json!({"dataset": dataset_id, "name": input.name, "format": input.format});
        audited
            .append(&AuditEntry::new(
                actor,
                "resource.create",
                &format!("resource:{id}"),
                detail,
            ))
            .await?;
        audited.commit().await?;
        self.resource(tenant, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("resource {id} vanished")))
    }

    /// Marks a dataset deleted (CKAN keeps deleted packages; they leave lists and searches).
    pub async fn delete_dataset(&self, tenant: &str, id: &str, actor: &str) -> Result<bool> {
        let mut audited = self.begin_audited(tenant).await?;
        let deleted = sqlx::query(
            "UPDATE od_datasets SET state = 'deleted', modified_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND state = 'active'",
        )
        .bind(now_text())
        .bind(tenant)
        .bind(id)
        .execute(&mut *audited.tx)
        .await?
        .rows_affected()
            > 0;
        if deleted {
            audited
                .append(&AuditEntry::new(
                    actor,
                    "dataset.delete",
                    &format!("dataset:{id}"),
                    json!({}),
                ))
                .await?;
            audited.commit().await?;
        }
        Ok(deleted)
    }

    /// A dataset by id or name (deleted ones too: the caller decides who sees them).
    pub async fn dataset(&self, tenant: &str, id_or_name: &str) -> Result<Option<DatasetRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets WHERE tenant_id = $1 AND (id = $2 OR name = $2)"
        ))
        .bind(tenant)
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut datasets = vec![dataset_head(&row)?];
        self.fill(tenant, &mut datasets).await?;
        Ok(datasets.pop())
    }

    /// The names of the city's active datasets, alphabetically (CKAN's `package_list`).
    pub async fn dataset_names(
        &self,
        tenant: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM od_datasets WHERE tenant_id = $1 AND state = 'active' \
             ORDER BY name LIMIT $2 OFFSET $3",
        )
        .bind(tenant)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn resource(&self, tenant: &str, id: &str) -> Result<Option<ResourceRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(resource).transpose()
    }

    /// A resource the public may fetch: one of a dataset that is published (not deleted).
    pub async fn published_resource(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<ResourceRecord>> {
        let Some(resource) = self.resource(tenant, id).await? else {
            return Ok(None);
        };
        let published = self
            .dataset(tenant, &resource.dataset_id)
            .await?
            .is_some_and(|d| d.state == "active");
        Ok(published.then_some(resource))
    }

    /// Searches the published datasets: free-text terms (all must match), filters, order, a
    /// page and facet counts over everything that matched (see `search`).
    pub async fn search_datasets(&self, tenant: &str, query: &DatasetQuery) -> Result<DatasetPage> {
        Ok(self.catalog(tenant).await?.search(query))
    }

    /// Every value of a facet with its number of active datasets (tags, groups,
    /// organizations), most frequent first.
    pub async fn facet_counts(&self, tenant: &str, facet: Facet) -> Result<Vec<(String, i64)>> {
        let query = DatasetQuery {
            facets: vec![facet],
            facet_limit: 10_000,
            ..DatasetQuery::default()
        };
        let page = self.search_datasets(tenant, &query).await?;
        Ok(page
            .facets
            .into_iter()
            .next()
            .map(|f| f.1)
            .unwrap_or_default())
    }

    /// Adds tags, groups and resources to datasets read from their own table.
    async fn fill(&self, tenant: &str, datasets: &mut [DatasetRecord]) -> Result<()> {
        for dataset in datasets.iter_mut() {
            for (table, column, into) in [
                ("od_dataset_tags", "tag", &mut dataset.input.tags),
                ("od_dataset_groups", "group_name", &mut dataset.input.groups),
            ] {
                *into = sqlx::query_scalar(&format!(
                    "SELECT {column} FROM {table} WHERE tenant_id = $1 AND dataset_id = $2 ORDER BY {column}"
                ))
                .bind(tenant)
                .bind(&dataset.id)
                .fetch_all(&self.pool)
                .await?;
            }
            let rows = sqlx::query(&format!(
                "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE tenant_id = $1 AND dataset_id = $2 ORDER BY position"
            ))
            .bind(tenant)
            .bind(&dataset.id)
            .fetch_all(&self.pool)
            .await?;
            dataset.resources = rows.iter().map(resource).collect::<Result<_>>()?;
        }
        Ok(())
    }
}

/// A CKAN-style id: 32 random hex digits in UUID form.
fn new_id() -> String {
    let hex = random_token();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
