//! Writing a resource's rows: a whole new upload (`datastore_create` / a re-upload) and
//! `datastore_upsert`'s `insert` and `upsert` methods.
//!
//! Rows go in as multi-row INSERTs of bound parameters, a few hundred rows per statement: one
//! statement per row is ten times slower, and the batch stays under SQLite's 32,766 parameters
//! (PostgreSQL allows 65,535).

use machi_core::opendata::ingest::{Cell, Field};
use machi_core::opendata::types::ColumnType;
use sqlx::any::AnyArguments;

use super::{
    check_fields, fresh_table_name, lock_resource, quote, registered, sql_type, DatastoreError,
    DatastoreResource, Result, INDEXED_FIELDS,
};
use crate::sql::Param;
use crate::{now_text, Backend, Store};

/// Bound parameters one statement may carry on both databases.
const MAX_PARAMS: usize = 32_766;
/// Rows per INSERT when the row is narrow enough: larger batches gain nothing measurable.
const MAX_BATCH_ROWS: usize = 500;

/// How `datastore_upsert` writes its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertMethod {
    /// CKAN `insert`: every record is a new row, numbered after the last `_id`.
    Insert,
    /// CKAN `upsert`, keyed by `_id` only: a record with an `_id` replaces every field of that
    /// row (fields it omits become NULL) and the row must exist; one without is inserted.
    Upsert,
}

/// A record for `datastore_upsert`: its `_id` when given and one cell per field, in the
/// resource's field order.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertRow {
    pub id: Option<i64>,
    pub cells: Vec<Cell>,
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// The parameter of a cell in a column of `kind` (a NULL carries the column's type, which
/// PostgreSQL needs).
fn param(kind: ColumnType, cell: Cell) -> Param {
    match (cell, kind) {
        (Cell::Int(i), _) => Param::Int(i),
        (Cell::Numeric(f), _) => Param::Float(f),
        (Cell::Text(s), _) => Param::Text(s),
        (Cell::Null, ColumnType::Integer) => Param::NullInt,
        (Cell::Null, ColumnType::Numeric) => Param::NullFloat,
        (Cell::Null, _) => Param::NullText,
    }
}

/// Checks that every row has one cell per field and that each cell fits its field's type.
fn check_rows<'a>(fields: &[Field], rows: impl Iterator<Item = &'a Vec<Cell>>) -> Result<()> {
    for (i, row) in rows.enumerate() {
        if row.len() != fields.len() {
            return Err(DatastoreError::Validation(format!(
                "record {} has {} values for {} fields",
                i + 1,
                row.len(),
                fields.len()
            )));
        }
        for (field, cell) in fields.iter().zip(row) {
            let fits = matches!(
                (field.kind, cell),
                (_, Cell::Null)
                    | (ColumnType::Integer, Cell::Int(_))
                    | (ColumnType::Numeric, Cell::Numeric(_) | Cell::Int(_))
                    | (
                        ColumnType::Date | ColumnType::Time | ColumnType::Text,
                        Cell::Text(_)
                    )
            );
            if !fits {
                return Err(DatastoreError::Validation(format!(
                    "record {}: the value of '{}' is not of type {}",
                    i + 1,
                    field.id,
                    field.kind.as_str()
                )));
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
async fn insert_rows(
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
async fn create_table(
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

/// Indexes the fields (see [`INDEXED_FIELDS`]), after the rows are in: building an index once
/// is several times faster than keeping it up to date row by row.
async fn create_indexes(tx: &mut Tx<'_>, table: &str, fields: &[Field]) -> Result<()> {
    for (i, field) in fields.iter().take(INDEXED_FIELDS).enumerate() {
        let text = format!(
            "CREATE INDEX {} ON {} ({})",
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
async fn analyze(tx: &mut Tx<'_>, backend: Backend, table: &str) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query(&format!("ANALYZE {}", quote(table)))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Points the registry at `table` with `fields` and `row_count`.
async fn register(
    tx: &mut Tx<'_>,
    tenant: &str,
    resource_id: &str,
    table: &str,
    fields: &[Field],
    row_count: i64,
) -> Result<()> {
    let fields = serde_json::to_string(fields)
        .map_err(|e| DatastoreError::Validation(format!("fields cannot be stored: {e}")))?;
    sqlx::query(
        "INSERT INTO datastore_resources \
         (tenant_id, resource_id, table_name, fields, row_count, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, resource_id) DO UPDATE SET table_name = excluded.table_name, \
         fields = excluded.fields, row_count = excluded.row_count, updated_at = excluded.updated_at",
    )
    .bind(tenant)
    .bind(resource_id)
    .bind(table)
    .bind(fields)
    .bind(row_count)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Replaces (or creates) a resource's rows with `rows` under `fields`, atomically: a
    /// failure anywhere leaves the previous rows as they were.
    #[tracing::instrument(name = "datastore_replace", skip(self, fields, rows), fields(rows = rows.len()))]
    pub async fn datastore_replace(
        &self,
        tenant: &str,
        resource_id: &str,
        fields: &[Field],
        rows: Vec<Vec<Cell>>,
    ) -> Result<DatastoreResource> {
        check_fields(fields)?;
        check_rows(fields, rows.iter())?;
        let table = fresh_table_name(tenant, resource_id);
        let mut tx = self.pool.begin().await?;
        lock_resource(&mut tx, self.backend, tenant, resource_id).await?;
        let previous = match registered(&mut *tx, tenant, resource_id).await {
            Ok(resource) => Some(resource.table_name),
            Err(DatastoreError::NotFound(_)) => None,
            Err(error) => return Err(error),
        };
        create_table(&mut tx, self.backend, &table, fields).await?;
        let count = insert_rows(&mut tx, self.backend, &table, fields, rows, 1).await?;
        create_indexes(&mut tx, &table, fields).await?;
        analyze(&mut tx, self.backend, &table).await?;
        register(&mut tx, tenant, resource_id, &table, fields, count).await?;
        if let Some(previous) = previous {
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", quote(&previous)))
                .execute(&mut *tx)
                .await?;
        }
        let resource = registered(&mut *tx, tenant, resource_id).await?;
        tx.commit().await?;
        Ok(resource)
    }

    /// Adds or updates records of an existing resource (see [`UpsertMethod`]); all or nothing.
    /// Returns the resource with its new row count.
    #[tracing::instrument(name = "datastore_upsert", skip(self, rows), fields(rows = rows.len()))]
    pub async fn datastore_upsert(
        &self,
        tenant: &str,
        resource_id: &str,
        rows: Vec<UpsertRow>,
        method: UpsertMethod,
    ) -> Result<DatastoreResource> {
        let mut tx = self.pool.begin().await?;
        lock_resource(&mut tx, self.backend, tenant, resource_id).await?;
        let resource = registered(&mut *tx, tenant, resource_id).await?;
        let fields = &resource.fields;
        check_rows(fields, rows.iter().map(|r| &r.cells))?;
        if method == UpsertMethod::Insert && rows.iter().any(|r| r.id.is_some()) {
            return Err(DatastoreError::Validation(
                "_id is given by the datastore on insert; use method upsert to update a row".into(),
            ));
        }
        let mut new_rows = Vec::new();
        for row in rows {
            match row.id {
                Some(id) => update_row(&mut tx, self.backend, &resource, id, row.cells).await?,
                None => new_rows.push(row.cells),
            }
        }
        let table = &resource.table_name;
        let last: i64 = sqlx::query_scalar(&format!(
            "SELECT COALESCE(MAX(_id), 0) FROM {}",
            quote(table)
        ))
        .fetch_one(&mut *tx)
        .await?;
        let added = insert_rows(&mut tx, self.backend, table, fields, new_rows, last + 1).await?;
        register(
            &mut tx,
            tenant,
            resource_id,
            table,
            fields,
            resource.row_count + added,
        )
        .await?;
        let resource = registered(&mut *tx, tenant, resource_id).await?;
        tx.commit().await?;
        Ok(resource)
    }
}

/// Replaces every field of row `id`, which must exist.
async fn update_row(
    tx: &mut Tx<'_>,
    backend: Backend,
    resource: &DatastoreResource,
    id: i64,
    cells: Vec<Cell>,
) -> Result<()> {
    let mut sql = crate::sql::Sql::new(
        backend,
        &format!("UPDATE {} SET ", quote(&resource.table_name)),
    );
    for (i, (field, cell)) in resource.fields.iter().zip(cells).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&format!("{} = ", quote(&field.id)));
        sql.bind(param(field.kind, cell));
    }
    sql.push(" WHERE _id = ").bind(Param::Int(id));
    let done = sqlx::query_with(sql.text(), sql.arguments())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DatastoreError::Validation(format!(
            "no record with _id {id} in resource '{}'",
            resource.resource_id
        )));
    }
    Ok(())
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
        assert!(check_rows(&fields, [vec![Cell::Text("x".into())]].iter()).is_err());
        assert!(check_rows(&fields, [vec![Cell::Null]].iter()).is_ok());
        assert!(check_rows(&fields, [vec![]].iter()).is_err());
    }
}
