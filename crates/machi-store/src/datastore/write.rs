//! Writing a resource's table: a whole new upload (a re-upload, or CKAN's `datastore_create`
//! of a new resource), its indexes and primary key, batched inserts, the registry row, and the
//! sizes `datastore_info` reports.
//!
//! Rows go in as multi-row INSERTs of bound parameters, a few hundred rows per statement: one
//! statement per row is ten times slower, and the batch stays under SQLite's 32,766 parameters
//! (PostgreSQL allows 65,535).

use machi_core::opendata::ingest::{Cell, Field};
use machi_core::opendata::types::{ColumnType, Storage};
use serde_json::json;
use sqlx::any::AnyArguments;

use super::{
    check_fields, check_primary_key, finish, fresh_table_name, quote, registered, sql_type,
    DatastoreError, DatastoreResource, Invalid, Keep, Result, INDEXED_FIELDS,
};
use crate::sql::Param;
use crate::{now_text, Backend, Store};

/// Bound parameters one statement may carry on both databases.
const MAX_PARAMS: usize = 32_766;
/// Rows per INSERT when the row is narrow enough: larger batches gain nothing measurable.
const MAX_BATCH_ROWS: usize = 500;

pub(super) type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// The parameter of a cell in a column of `kind` (a NULL carries the column's type, which
/// PostgreSQL needs).
pub(super) fn param(kind: ColumnType, cell: Cell) -> Param {
    match (cell, kind.storage()) {
        (Cell::Int(i), _) => Param::Int(i),
        (Cell::Numeric(f), _) => Param::Float(f),
        (Cell::Bool(b), _) => Param::Bool(b),
        (Cell::Text(s), _) => Param::Text(s),
        (Cell::Null, Storage::Int) => Param::NullInt,
        (Cell::Null, Storage::Float) => Param::NullFloat,
        (Cell::Null, Storage::Bool) => Param::NullBool,
        (Cell::Null, Storage::Text) => Param::NullText,
    }
}

/// Checks that every row has one cell per field and that each cell fits its field's type.
pub(super) fn check_rows<'a>(
    fields: &[Field],
    rows: impl Iterator<Item = &'a Vec<Cell>>,
) -> Result<()> {
    for (i, row) in rows.enumerate() {
        if row.len() != fields.len() {
            return Err(DatastoreError::in_record(
                i,
                format!("{} values for {} fields", row.len(), fields.len()),
            ));
        }
        for (field, cell) in fields.iter().zip(row) {
            let fits = matches!(
                (field.kind.storage(), cell),
                (_, Cell::Null)
                    | (Storage::Int, Cell::Int(_))
                    | (Storage::Float, Cell::Numeric(_) | Cell::Int(_))
                    | (Storage::Bool, Cell::Bool(_))
                    | (Storage::Text, Cell::Text(_))
            );
            if !fits {
                return Err(DatastoreError::in_record(
                    i,
                    format!(
                        "the value of '{}' is not of type {}",
                        field.id,
                        field.kind.as_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `INSERT INTO t (_id, f1, …) VALUES (…), (…)` for `rows` rows, with each backend's
/// placeholders.
fn insert_text(backend: Backend, table: &str, fields: &[Field], rows: usize) -> String {
    let columns: Vec<String> = std::iter::once("_id".to_string())
        .chain(fields.iter().map(|f| quote(&f.id)))
        .collect();
    let mut text = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote(table),
        columns.join(", ")
    );
    let mut n = 0;
    for r in 0..rows {
        text.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns.len() {
            if c > 0 {
                text.push_str(", ");
            }
            n += 1;
            match backend {
                Backend::Postgres => text.push_str(&format!("${n}")),
                Backend::Sqlite => text.push('?'),
            }
        }
        text.push(')');
    }
    text
}

/// Inserts `rows` numbered from `first_id`, in batches; returns how many.
pub(super) async fn insert_rows(
    tx: &mut Tx<'_>,
    backend: Backend,
    table: &str,
    fields: &[Field],
    rows: impl IntoIterator<Item = Vec<Cell>>,
    first_id: i64,
) -> Result<i64> {
    let batch_rows = (MAX_PARAMS / (fields.len() + 1)).clamp(1, MAX_BATCH_ROWS);
    let full_text = insert_text(backend, table, fields, batch_rows);
    let mut next_id = first_id;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut args = AnyArguments::default();
        let mut in_batch = 0;
        for row in rows.by_ref().take(batch_rows) {
            Param::Int(next_id).add_to(&mut args);
            for (field, cell) in fields.iter().zip(row) {
                param(field.kind, cell).add_to(&mut args);
            }
            next_id += 1;
            in_batch += 1;
        }
        let text = if in_batch == batch_rows {
            full_text.clone()
        } else {
            insert_text(backend, table, fields, in_batch)
        };
        sqlx::query_with(&text, args).execute(&mut **tx).await?;
    }
    Ok(next_id - first_id)
}

/// Creates the table of an upload: `_id` is SQLite's rowid alias, so rows are stored in `_id`
/// order without a second index.
pub(super) async fn create_table(
    tx: &mut Tx<'_>,
    backend: Backend,
    table: &str,
    fields: &[Field],
) -> Result<()> {
    let id_type = match backend {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "BIGINT",
    };
    let mut text = format!("CREATE TABLE {} (_id {id_type} PRIMARY KEY", quote(table));
    for field in fields {
        text.push_str(&format!(
            ", {} {}",
            quote(&field.id),
            sql_type(backend, field.kind)
        ));
    }
    text.push(')');
    sqlx::query(&text).execute(&mut **tx).await?;
    Ok(())
}

/// Indexes the fields from position `from` on (see [`INDEXED_FIELDS`]) that have no index
/// yet, after the rows are in: building an index once is several times faster than keeping it
/// up to date row by row. The first field of the primary key (`keyed`) has the key's unique
/// index, which serves its lookups, and gets no second one.
pub(super) async fn create_indexes(
    tx: &mut Tx<'_>,
    table: &str,
    fields: &[Field],
    from: usize,
    keyed: Option<&String>,
) -> Result<()> {
    let unkeyed = fields
        .iter()
        .enumerate()
        .take(INDEXED_FIELDS)
        .skip(from)
        .filter(|(_, field)| Some(&field.id) != keyed);
    for (i, field) in unkeyed {
        let text = format!(
            "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
            quote(&format!("{table}_{i}")),
            quote(table),
            quote(&field.id)
        );
        sqlx::query(&text).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Gives PostgreSQL's planner statistics of the new table now, as autovacuum would later: a
/// table it knows nothing about can be planned badly for its first searches.
pub(super) async fn analyze(tx: &mut Tx<'_>, backend: Backend, table: &str) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query(&format!("ANALYZE {}", quote(table)))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// SQLite's page cache during a bulk write (KiB), and its default, restored afterwards. A
/// million-row load dirties and revisits far more index pages than the default 2 MB holds;
/// the larger cache lasts only for the call, so that idle pooled connections stay small.
const BULK_CACHE_KIB: i64 = 65_536;
const DEFAULT_CACHE_KIB: i64 = 2_000;

/// Gives the transaction's connection the bulk-write page cache (`on`) or the default back.
pub(super) async fn bulk_cache(tx: &mut Tx<'_>, backend: Backend, on: bool) -> Result<()> {
    if backend == Backend::Sqlite {
        let kib = if on {
            BULK_CACHE_KIB
        } else {
            DEFAULT_CACHE_KIB
        };
        sqlx::query(&format!("PRAGMA cache_size = -{kib}"))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// What the registry says of a table after a write.
pub(super) struct Entry<'a> {
    pub table: &'a str,
    pub fields: &'a [Field],
    pub primary_key: &'a [String],
    pub row_count: i64,
    pub last_id: i64,
}

/// Points the registry at the entry's table, with its fields, key and counts.
pub(super) async fn register(
    tx: &mut Tx<'_>,
    tenant: &str,
    resource_id: &str,
    entry: Entry<'_>,
) -> Result<()> {
    let fields = serde_json::to_string(entry.fields)
        .map_err(|e| DatastoreError::invalid("fields", format!("fields cannot be stored: {e}")))?;
    let primary_key = json!(entry.primary_key).to_string();
    sqlx::query(
        "INSERT INTO datastore_resources \
         (tenant_id, resource_id, table_name, fields, primary_key, row_count, last_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id, resource_id) DO UPDATE SET table_name = excluded.table_name, \
         fields = excluded.fields, primary_key = excluded.primary_key, \
         row_count = excluded.row_count, last_id = excluded.last_id, \
         updated_at = excluded.updated_at",
    )
    .bind(tenant)
    .bind(resource_id)
    .bind(entry.table)
    .bind(fields)
    .bind(primary_key)
    .bind(entry.row_count)
    .bind(entry.last_id)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The name of the unique index that is a table's primary key.
pub(super) fn key_index(table: &str) -> String {
    format!("{table}_pk")
}

/// Makes `primary_key` the table's unique key. A key the rows already break is refused as
/// CKAN refuses it, naming the first duplicated value; the transaction stays usable (the
/// attempt runs in a savepoint).
pub(super) async fn create_primary_key(
    tx: &mut Tx<'_>,
    table: &str,
    primary_key: &[String],
) -> Result<()> {
    if primary_key.is_empty() {
        return Ok(());
    }
    let columns: Vec<String> = primary_key.iter().map(|id| quote(id)).collect();
    let text = format!(
        "CREATE UNIQUE INDEX {} ON {} ({})",
        quote(&key_index(table)),
        quote(table),
        columns.join(", ")
    );
    let mut attempt = sqlx::Connection::begin(&mut **tx).await?;
    match sqlx::query(&text).execute(&mut *attempt).await {
        Ok(_) => {
            attempt.commit().await?;
            Ok(())
        }
        Err(error) if is_unique_violation(&error) => {
            attempt.rollback().await?;
            let duplicated = first_duplicate(tx, table, &columns).await?;
            Err(DatastoreError::Validation(Invalid {
                key: "constraints",
                message: "Cannot insert records or create index because of uniqueness constraint"
                    .into(),
                records_row: None,
                info: Some(json!({
                    "orig": unique_violation_text(table, primary_key, &duplicated),
                    "pgcode": UNIQUE_VIOLATION,
                })),
            }))
        }
        Err(error) => Err(error.into()),
    }
}

/// Drops the table's primary key, if it has one.
pub(super) async fn drop_primary_key(tx: &mut Tx<'_>, table: &str) -> Result<()> {
    sqlx::query(&format!(
        "DROP INDEX IF EXISTS {}",
        quote(&key_index(table))
    ))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// PostgreSQL's SQLSTATE for a unique violation, which CKAN reports as `pgcode`.
pub(super) const UNIQUE_VIOLATION: &str = "23505";

pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// PostgreSQL's words for a duplicate key, naming the key and its value.
pub(super) fn unique_violation_text(
    table: &str,
    primary_key: &[String],
    values: &[String],
) -> String {
    format!(
        "duplicate key value violates unique constraint \"{}\"\nDETAIL:  Key ({})=({}) already exists.\n",
        key_index(table),
        primary_key.join(", "),
        values.join(", ")
    )
}

/// The first key value that appears twice among the rows, as text.
async fn first_duplicate(tx: &mut Tx<'_>, table: &str, columns: &[String]) -> Result<Vec<String>> {
    let as_text: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({c} AS TEXT)"))
        .collect();
    let text = format!(
        "SELECT {} FROM {} WHERE {} GROUP BY {} HAVING COUNT(*) > 1 LIMIT 1",
        as_text.join(", "),
        quote(table),
        columns
            .iter()
            .map(|c| format!("{c} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND "),
        columns.join(", ")
    );
    let row = sqlx::query(&text).fetch_optional(&mut **tx).await?;
    let values = match row {
        Some(row) => (0..columns.len())
            .map(|i| {
                sqlx::Row::try_get::<Option<String>, _>(&row, i).map(|v| v.unwrap_or_default())
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    Ok(values)
}

/// How much room a table takes, as `datastore_info` reports it (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableSizes {
    pub table: i64,
    pub indexes: i64,
    pub database: i64,
}

impl Store {
    /// Replaces (or creates) a resource's rows with `rows` under `fields`, keyed by
    /// `primary_key` (none when empty), atomically: a failure anywhere leaves the previous rows
    /// as they were.
    #[tracing::instrument(name = "datastore_replace", skip(self, fields, rows), fields(rows = rows.len()))]
    pub async fn datastore_replace(
        &self,
        tenant: &str,
        resource_id: &str,
        fields: &[Field],
        primary_key: &[String],
        rows: Vec<Vec<Cell>>,
    ) -> Result<DatastoreResource> {
        check_fields(fields)?;
        check_primary_key(fields, primary_key)?;
        check_rows(fields, rows.iter())?;
        let mut tx = self.begin_write(tenant, resource_id).await?;
        let outcome = self
            .replace_in(&mut tx, tenant, resource_id, fields, primary_key, rows)
            .await;
        finish(tx, self.backend, outcome, Keep::Commit).await
    }

    async fn replace_in(
        &self,
        tx: &mut Tx<'_>,
        tenant: &str,
        resource_id: &str,
        fields: &[Field],
        primary_key: &[String],
        rows: Vec<Vec<Cell>>,
    ) -> Result<DatastoreResource> {
        let table = fresh_table_name(tenant, resource_id);
        let previous = match registered(&mut **tx, tenant, resource_id).await {
            Ok(resource) => Some(resource.table_name),
            Err(DatastoreError::NotFound(_)) => None,
            Err(error) => return Err(error),
        };
        create_table(tx, self.backend, &table, fields).await?;
        let count = insert_rows(tx, self.backend, &table, fields, rows, 1).await?;
        create_primary_key(tx, &table, primary_key).await?;
        create_indexes(tx, &table, fields, 0, primary_key.first()).await?;
        analyze(tx, self.backend, &table).await?;
        let entry = Entry {
            table: &table,
            fields,
            primary_key,
            row_count: count,
            last_id: count,
        };
        register(tx, tenant, resource_id, entry).await?;
        if let Some(previous) = previous {
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", quote(&previous)))
                .execute(&mut **tx)
                .await?;
        }
        registered(&mut **tx, tenant, resource_id).await
    }

    /// The indexes of the resource's table: (field id, index name) for each field an index
    /// covers, the field's own index before the primary key's.
    pub async fn datastore_indexes(
        &self,
        tenant: &str,
        resource_id: &str,
    ) -> Result<Vec<(String, String)>> {
        let resource = registered(&self.pool, tenant, resource_id).await?;
        let sql = match self.backend {
            Backend::Postgres => {
                "SELECT CAST(a.attname AS TEXT), CAST(i.relname AS TEXT) FROM pg_index x \
                 JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey) \
                 WHERE x.indrelid = CAST($1 AS regclass) ORDER BY x.indisunique, 2"
            }
            Backend::Sqlite => {
                "SELECT ii.name, il.name FROM pragma_index_list($1) AS il, \
                 pragma_index_info(il.name) AS ii ORDER BY il.\"unique\", 2"
            }
        };
        let table = match self.backend {
            Backend::Postgres => quote(&resource.table_name),
            Backend::Sqlite => resource.table_name.clone(),
        };
        let pairs: Vec<(String, String)> = sqlx::query_as(sql)
            .bind(table)
            .fetch_all(&self.pool)
            .await?;
        let mut indexes: Vec<(String, String)> = Vec::new();
        for (field, index) in pairs {
            if field != "_id" && !indexes.iter().any(|(f, _)| *f == field) {
                indexes.push((field, index));
            }
        }
        Ok(indexes)
    }

    /// How much room the resource's table and its indexes take, and the whole database.
    pub async fn datastore_sizes(&self, tenant: &str, resource_id: &str) -> Result<TableSizes> {
        let resource = registered(&self.pool, tenant, resource_id).await?;
        let table = &resource.table_name;
        let (table_sql, indexes_sql, database_sql) = match self.backend {
            Backend::Postgres => (
                "SELECT pg_relation_size(CAST($1 AS regclass))",
                "SELECT pg_indexes_size(CAST($1 AS regclass))",
                "SELECT pg_database_size(current_database())",
            ),
            // dbstat is compiled into the SQLite that sqlx bundles.
            Backend::Sqlite => (
                "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = $1",
                "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN \
                 (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1)",
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            ),
        };
        let quoted = match self.backend {
            Backend::Postgres => quote(table),
            Backend::Sqlite => table.clone(),
        };
        let size = |sql: &'static str, bind: bool| {
            let query = sqlx::query_scalar::<_, i64>(sql);
            let query = if bind {
                query.bind(quoted.clone())
            } else {
                query
            };
            query.fetch_one(&self.pool)
        };
        Ok(TableSizes {
            table: size(table_sql, true).await?,
            indexes: size(indexes_sql, true).await?,
            database: size(database_sql, false).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_batch_numbers_postgres_placeholders_across_rows() {
        let fields = [Field {
            id: "人口".into(),
            kind: ColumnType::Integer,
        }];
        assert_eq!(
            insert_text(Backend::Postgres, "ds_1", &fields, 2),
            "INSERT INTO \"ds_1\" (_id, \"人口\") VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            insert_text(Backend::Sqlite, "ds_1", &fields, 1),
            "INSERT INTO \"ds_1\" (_id, \"人口\") VALUES (?, ?)"
        );
    }

    #[test]
    fn a_cell_of_the_wrong_type_is_refused_before_any_sql() {
        let fields = [Field {
            id: "n".into(),
            kind: ColumnType::Integer,
        }];
        let error = check_rows(
            &fields,
            [vec![Cell::Null], vec![Cell::Text("x".into())]].iter(),
        );
        assert!(
            matches!(
                error,
                Err(DatastoreError::Validation(Invalid {
                    records_row: Some(1),
                    ..
                }))
            ),
            "{error:?}"
        );
        assert!(check_rows(&fields, [vec![Cell::Null]].iter()).is_ok());
        assert!(check_rows(&fields, [vec![]].iter()).is_err());
    }
}
