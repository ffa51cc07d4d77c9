//! オープンデータの datastore: the rows of a published resource, queried as CKAN's
//! `datastore_search` does. What `datastore_create`, `datastore_upsert`, `datastore_search` and
//! `datastore_delete` of the CKAN API call.
//!
//! As CKAN does, each resource's rows live in a real table of their own (`ds_<16 hex>`), with
//! `_id` (the 1-based row number) and one column per field, so a filter is an index lookup.
//! `datastore_resources` says which table holds a resource and its fields.
//!
//! Policy: a re-upload replaces the rows atomically. The new table is built under a fresh
//! name, filled, indexed and swapped into the registry in one transaction that then drops the
//! old table, so readers see the old rows or the new ones, and a failure keeps the old ones.
//! Field ids reach SQL only as double-quoted identifiers checked by
//! [`machi_core::opendata::ingest::field_id_problem`]; names in queries are checked against the
//! resource's fields first.
//!
//! On SQLite the transaction holds the write lock while it loads (about five seconds for a
//! million rows), which other writers wait out through `busy_timeout`.

mod search;
mod write;

pub use search::{SearchQuery, SearchResult};
pub use write::{UpsertMethod, UpsertRow};

use machi_core::opendata::ingest::{field_id_problem, same_field_id, Field};
use machi_core::opendata::types::ColumnType;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// Columns a resource may have: far above any standard dataset, and below both databases'
/// limits on columns per table and on bound parameters per row.
pub const MAX_FIELDS: usize = 1000;
/// Fields that get an index: all of them up to this many, else the first this many. Standard
/// datasets put their identifying columns (codes, names, addresses) first, and each index costs
/// time on every upload and space for every row.
pub const INDEXED_FIELDS: usize = 32;

/// What a datastore call can fail with; the CKAN API maps `NotFound` to "Not Found Error"
/// and `Validation` to "Validation Error".
#[derive(Debug, thiserror::Error)]
pub enum DatastoreError {
    #[error("resource '{0}' has no datastore data")]
    NotFound(String),
    /// A field, value or parameter that is wrong, named in the message.
    #[error("{0}")]
    Validation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DatastoreError {
    fn from(error: sqlx::Error) -> Self {
        DatastoreError::Store(StoreError::Database(error))
    }
}

pub type Result<T> = std::result::Result<T, DatastoreError>;

/// A resource in the datastore: its fields (without `_id`) and how many rows it has.
#[derive(Debug, Clone, PartialEq)]
pub struct DatastoreResource {
    pub resource_id: String,
    pub fields: Vec<Field>,
    pub row_count: i64,
    pub updated_at: crate::Time,
    table_name: String,
}

/// `name` as a double-quoted SQL identifier (valid on both databases).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SQL type of a field's column on `backend`: dates and times are ISO text, whose text
/// order is time order on both databases.
fn sql_type(backend: Backend, kind: ColumnType) -> &'static str {
    match (backend, kind) {
        (Backend::Sqlite, ColumnType::Integer) => "INTEGER",
        (Backend::Postgres, ColumnType::Integer) => "BIGINT",
        (Backend::Sqlite, ColumnType::Numeric) => "REAL",
        (Backend::Postgres, ColumnType::Numeric) => "DOUBLE PRECISION",
        (_, ColumnType::Date | ColumnType::Time | ColumnType::Text) => "TEXT",
    }
}

/// The fields of a new upload, refused as a whole when any id is unusable.
fn check_fields(fields: &[Field]) -> Result<()> {
    if fields.is_empty() || fields.len() > MAX_FIELDS {
        return Err(DatastoreError::Validation(format!(
            "a resource has 1 to {MAX_FIELDS} fields, not {}",
            fields.len()
        )));
    }
    for (i, field) in fields.iter().enumerate() {
        if let Some(problem) = field_id_problem(&field.id) {
            return Err(DatastoreError::Validation(problem.en));
        }
        if fields[..i].iter().any(|f| same_field_id(&f.id, &field.id)) {
            return Err(DatastoreError::Validation(format!(
                "the field '{}' appears twice",
                field.id
            )));
        }
    }
    Ok(())
}

/// A fresh table name: the hash of the tenant, the resource and a random nonce, so a replace
/// never meets the table it replaces.
fn fresh_table_name(tenant: &str, resource_id: &str) -> String {
    let nonce: u64 = rand::random();
    let digest = Sha256::new()
        .chain_update(tenant)
        .chain_update([0])
        .chain_update(resource_id)
        .chain_update([0])
        .chain_update(nonce.to_be_bytes())
        .finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ds_{hex}")
}

/// The key of the PostgreSQL advisory lock that serialises writes to one resource.
fn lock_key(tenant: &str, resource_id: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(tenant)
        .chain_update([0])
        .chain_update(resource_id)
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Serialises writers of one resource: on PostgreSQL with a transaction-scoped advisory lock
/// (two first uploads would otherwise both build a table); SQLite has one writer anyway.
async fn lock_resource(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    tenant: &str,
    resource_id: &str,
) -> Result<()> {
    if backend == Backend::Postgres {
        // Wrapped in a SELECT of an int: the Any driver cannot decode `void`.
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
            .bind(lock_key(tenant, resource_id))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn resource_from_row(row: &sqlx::any::AnyRow) -> Result<DatastoreResource> {
    let fields: String = row.try_get("fields")?;
    let fields = serde_json::from_str(&fields)
        .map_err(|e| StoreError::Corrupt(format!("datastore fields are not valid JSON: {e}")))?;
    Ok(DatastoreResource {
        resource_id: row.try_get("resource_id")?,
        fields,
        row_count: row.try_get("row_count")?,
        updated_at: row.try_get("updated_at")?,
        table_name: row.try_get("table_name")?,
    })
}

const REGISTRY_COLUMNS: &str = "resource_id, table_name, fields, row_count, updated_at";

/// The registry row of a resource inside a transaction, or `NotFound`.
async fn registered(
    executor: impl sqlx::Executor<'_, Database = sqlx::Any>,
    tenant: &str,
    resource_id: &str,
) -> Result<DatastoreResource> {
    let row = sqlx::query(&format!(
        "SELECT {REGISTRY_COLUMNS} FROM datastore_resources \
         WHERE tenant_id = $1 AND resource_id = $2"
    ))
    .bind(tenant)
    .bind(resource_id)
    .fetch_optional(executor)
    .await?;
    match row {
        Some(row) => resource_from_row(&row),
        None => Err(DatastoreError::NotFound(resource_id.to_string())),
    }
}

impl Store {
    /// The resources of a city that have datastore rows (CKAN's `datastore_active`).
    pub async fn datastore_resource_ids(
        &self,
        tenant: &str,
    ) -> Result<std::collections::HashSet<String>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT resource_id FROM datastore_resources WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().collect())
    }

    /// The datastore entry of a resource (fields and row count), or `NotFound`.
    pub async fn datastore_info(
        &self,
        tenant: &str,
        resource_id: &str,
    ) -> Result<DatastoreResource> {
        registered(&self.pool, tenant, resource_id).await
    }

    /// Removes a resource's rows and its entry (`datastore_delete` without filters).
    #[tracing::instrument(name = "datastore_delete", skip(self))]
    pub async fn datastore_delete(&self, tenant: &str, resource_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        lock_resource(&mut tx, self.backend, tenant, resource_id).await?;
        let resource = registered(&mut *tx, tenant, resource_id).await?;
        sqlx::query("DELETE FROM datastore_resources WHERE tenant_id = $1 AND resource_id = $2")
            .bind(tenant)
            .bind(resource_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "DROP TABLE IF EXISTS {}",
            quote(&resource.table_name)
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_double_quoted_with_quotes_doubled() {
        assert_eq!(quote("人口"), "\"人口\"");
        assert_eq!(
            quote("a\"; DROP TABLE x; --"),
            "\"a\"\"; DROP TABLE x; --\""
        );
    }

    #[test]
    fn each_upload_gets_a_fresh_table_name_of_16_hex_digits() {
        let a = fresh_table_name("demo", "r1");
        assert_eq!(a.len(), 3 + 16);
        assert!(a.starts_with("ds_"));
        assert_ne!(a, fresh_table_name("demo", "r1"));
        assert_eq!(lock_key("demo", "r1"), lock_key("demo", "r1"));
    }

    #[test]
    fn reserved_and_duplicate_field_ids_are_refused() {
        let field = |id: &str| Field {
            id: id.into(),
            kind: ColumnType::Text,
        };
        assert!(check_fields(&[field("_id")]).is_err());
        assert!(check_fields(&[field("a"), field("a")]).is_err());
        assert!(check_fields(&[field("Name"), field("name")]).is_err());
        assert!(check_fields(&[]).is_err());
        assert!(check_fields(&[field("人口"), field("a\"b")]).is_ok());
    }
}
