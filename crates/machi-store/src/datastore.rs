//! オープンデータの datastore: the rows of a published resource, written and queried as CKAN's
//! `datastore_create`, `datastore_upsert`, `datastore_delete`, `datastore_search` and
//! `datastore_info` do.
//!
//! As CKAN does, each resource's rows live in a real table of their own (`ds_<16 hex>`), with
//! `_id` (the row number, never reused within the table) and one column per field, so a filter
//! is an index lookup. A primary key is a unique index over its fields on both databases.
//! `datastore_resources` says which table holds a resource, its fields, primary key, row count
//! and last `_id`.
//!
//! Policy: every call is one transaction. A re-upload builds the new table under a fresh name,
//! fills and indexes it and swaps it into the registry, so readers see the old rows or the new
//! ones; a record that fails (a wrong value, a duplicate key, a key not found) rolls the whole
//! call back and is named by its position (`records_row`), as CKAN names it. Field ids reach
//! SQL only as double-quoted identifiers checked by
//! [`machi_core::opendata::ingest::field_id_problem`]; names in queries are checked against the
//! resource's fields first.
//!
//! On SQLite the transaction holds the write lock while it loads (about five seconds for a
//! million rows), which other writers wait out through `busy_timeout`.

mod create;
mod filters;
mod records;
mod search;
mod write;

pub use create::{CreateSpec, Declared};
pub use records::WriteMethod;
pub use search::{FullText, SearchQuery, SearchResult, MAX_LIMIT};
pub use write::TableSizes;

use machi_core::opendata::ingest::{field_id_problem, same_field_id, Field};
use machi_core::opendata::types::{ColumnType, Storage};
use serde_json::Value;
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
    Validation(Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is wrong with a call, as CKAN's Validation Error says it: the parameter at fault
/// (`records`, `key`, `fields`, `table`, `constraints`, `filters` …), the message, the index of
/// the record at fault when there is one, and details of a broken constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub key: &'static str,
    pub message: String,
    pub records_row: Option<usize>,
    pub info: Option<Value>,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl DatastoreError {
    /// A Validation Error on the parameter `key`.
    pub fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        DatastoreError::Validation(Invalid {
            key,
            message: message.into(),
            records_row: None,
            info: None,
        })
    }

    /// A Validation Error on the record at index `row` of the call.
    pub fn in_record(row: usize, message: impl Into<String>) -> Self {
        DatastoreError::Validation(Invalid {
            key: "records",
            message: message.into(),
            records_row: Some(row),
            info: None,
        })
    }
}

impl From<sqlx::Error> for DatastoreError {
    fn from(error: sqlx::Error) -> Self {
        DatastoreError::Store(StoreError::Database(error))
    }
}

pub type Result<T> = std::result::Result<T, DatastoreError>;

/// A resource in the datastore: its fields (without `_id`), primary key and how many rows it
/// has.
#[derive(Debug, Clone, PartialEq)]
pub struct DatastoreResource {
    pub resource_id: String,
    pub fields: Vec<Field>,
    /// The fields whose values identify a record (CKAN's `primary_key`); empty when none.
    pub primary_key: Vec<String>,
    pub row_count: i64,
    pub updated_at: crate::Time,
    table_name: String,
    /// The last `_id` given, which the next record follows; `None` for tables written before
    /// it was kept, whose largest `_id` stands for it.
    last_id: Option<i64>,
}

impl DatastoreResource {
    fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }
}

/// `name` as a double-quoted SQL identifier (valid on both databases).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SQL type of a field's column on `backend`: integers of every width as 64-bit (the
/// width is checked on the way in), floating point for every number, and canonical text for
/// the rest (ISO dates and times, whose text order is time order; JSON; arrays as JSON).
fn sql_type(backend: Backend, kind: ColumnType) -> &'static str {
    match (backend, kind.storage()) {
        (Backend::Sqlite, Storage::Int | Storage::Bool) => "INTEGER",
        (Backend::Postgres, Storage::Int) => "BIGINT",
        (Backend::Postgres, Storage::Bool) => "BOOLEAN",
        (Backend::Sqlite, Storage::Float) => "REAL",
        (Backend::Postgres, Storage::Float) => "DOUBLE PRECISION",
        (_, Storage::Text) => "TEXT",
    }
}

/// The fields of a table, refused as a whole when any id is unusable.
fn check_fields(fields: &[Field]) -> Result<()> {
    if fields.len() > MAX_FIELDS {
        return Err(DatastoreError::invalid(
            "fields",
            format!(
                "a resource has at most {MAX_FIELDS} fields, not {}",
                fields.len()
            ),
        ));
    }
    for (i, field) in fields.iter().enumerate() {
        if let Some(problem) = field_id_problem(&field.id) {
            return Err(DatastoreError::invalid("fields", problem.en));
        }
        if fields[..i].iter().any(|f| same_field_id(&f.id, &field.id)) {
            return Err(DatastoreError::invalid(
                "fields",
                format!("Duplicate column names are not supported: '{}'", field.id),
            ));
        }
    }
    Ok(())
}

/// A primary key's fields, each one of `fields` and none twice.
fn check_primary_key(fields: &[Field], primary_key: &[String]) -> Result<()> {
    for (i, id) in primary_key.iter().enumerate() {
        if !fields.iter().any(|f| &f.id == id) {
            return Err(DatastoreError::invalid(
                "primary_key",
                format!("field \"{id}\" does not exist"),
            ));
        }
        if primary_key[..i].contains(id) {
            return Err(DatastoreError::invalid(
                "primary_key",
                format!("field \"{id}\" appears twice"),
            ));
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
    let primary_key: String = row.try_get("primary_key")?;
    let primary_key = serde_json::from_str(&primary_key).map_err(|e| {
        StoreError::Corrupt(format!("datastore primary key is not valid JSON: {e}"))
    })?;
    Ok(DatastoreResource {
        resource_id: row.try_get("resource_id")?,
        fields,
        primary_key,
        row_count: row.try_get("row_count")?,
        updated_at: row.try_get("updated_at")?,
        table_name: row.try_get("table_name")?,
        last_id: row.try_get("last_id")?,
    })
}

const REGISTRY_COLUMNS: &str =
    "resource_id, table_name, fields, primary_key, row_count, last_id, updated_at";

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

/// Whether a write call keeps what it did (`dry_run` checks everything and keeps nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Commit,
    Rollback,
}

/// Ends a write call begun by [`Store::begin_write`]: committed (or for a dry run, rolled
/// back) only when `outcome` succeeded; the page cache is given back either way.
async fn finish<T>(
    mut tx: write::Tx<'static>,
    backend: Backend,
    outcome: Result<T>,
    keep: Keep,
) -> Result<T> {
    let reset = write::bulk_cache(&mut tx, backend, false).await;
    let value = outcome?;
    reset?;
    match keep {
        Keep::Commit => tx.commit().await?,
        Keep::Rollback => tx.rollback().await?,
    }
    Ok(value)
}

impl Store {
    /// The transaction of one write call: it holds the resource's lock and, on SQLite, the
    /// bulk-write page cache until [`finish`] commits it.
    async fn begin_write(&self, tenant: &str, resource_id: &str) -> Result<write::Tx<'static>> {
        let mut tx = self.pool.begin().await?;
        lock_resource(&mut tx, self.backend, tenant, resource_id).await?;
        write::bulk_cache(&mut tx, self.backend, true).await?;
        Ok(tx)
    }

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
    pub async fn datastore_drop(&self, tenant: &str, resource_id: &str) -> Result<()> {
        let mut tx = self.begin_write(tenant, resource_id).await?;
        let outcome = drop_in(&mut tx, tenant, resource_id).await;
        finish(tx, self.backend, outcome, Keep::Commit).await
    }
}

async fn drop_in(tx: &mut write::Tx<'_>, tenant: &str, resource_id: &str) -> Result<()> {
    let resource = registered(&mut **tx, tenant, resource_id).await?;
    sqlx::query("DELETE FROM datastore_resources WHERE tenant_id = $1 AND resource_id = $2")
        .bind(tenant)
        .bind(resource_id)
        .execute(&mut **tx)
        .await?;
    let drop = format!("DROP TABLE IF EXISTS {}", quote(&resource.table_name));
    sqlx::query(&drop).execute(&mut **tx).await?;
    Ok(())
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
        assert!(check_fields(&[field("人口"), field("a\"b")]).is_ok());
        let fields = [field("code"), field("name")];
        assert!(check_primary_key(&fields, &["code".into()]).is_ok());
        assert!(check_primary_key(&fields, &["コード".into()]).is_err());
        assert!(check_primary_key(&fields, &["code".into(), "code".into()]).is_err());
    }
}
