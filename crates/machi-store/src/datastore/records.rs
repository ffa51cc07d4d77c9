//! Records written to an existing table, with CKAN's rules (`datastore_upsert`'s methods and
//! `datastore_delete` with filters):
//!
//! - `insert` adds every record as a new row; a key a record does not name is refused, and a
//!   record breaking the primary key refuses the call, naming the key and the record.
//! - `update` changes the row a record names, by `_id` or by the primary key, and only the
//!   fields the record gives; a record naming no row is refused (`key "[…]" not found`).
//! - `upsert` updates as `update` does, and inserts the record as a new row when it names none.
//!
//! A record names its row by `_id` when it has one, else by every field of the primary key;
//! with neither, the call is refused. New rows get the `_id` after the table's last one, never
//! one a deleted row had.

use std::collections::HashSet;

use machi_core::opendata::ingest::{Cell, Field};
use machi_core::opendata::values::cell_from_json;
use serde_json::{json, Map, Value};

use super::search::{all_fields, push_where, SearchQuery};
use super::write::{
    insert_rows, is_unique_violation, key_index, param, register, unique_violation_text, Entry, Tx,
    UNIQUE_VIOLATION,
};
use super::{finish, quote, registered, DatastoreError, DatastoreResource, Invalid, Keep, Result};
use crate::sql::{Param, Sql};
use crate::{Backend, Store};

/// How `datastore_upsert` writes its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    Insert,
    Upsert,
    Update,
}

impl WriteMethod {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "insert" => Some(WriteMethod::Insert),
            "upsert" => Some(WriteMethod::Upsert),
            "update" => Some(WriteMethod::Update),
            _ => None,
        }
    }
}

impl DatastoreResource {
    /// The last `_id` given: kept in the registry, or the largest in tables from before it was.
    pub(super) async fn last_id(&self, tx: &mut Tx<'_>) -> Result<i64> {
        if let Some(id) = self.last_id {
            return Ok(id);
        }
        let text = format!(
            "SELECT COALESCE(MAX(_id), 0) FROM {}",
            quote(&self.table_name)
        );
        Ok(sqlx::query_scalar(&text).fetch_one(&mut **tx).await?)
    }
}

/// A record's values, one cell per field (NULL where the record gives none).
fn typed_row(
    fields: &[Field],
    record: &Map<String, Value>,
) -> std::result::Result<Vec<Cell>, String> {
    fields
        .iter()
        .map(|f| {
            record
                .get(&f.id)
                .map_or(Ok(Cell::Null), |v| cell_from_json(f.kind, v))
        })
        .collect()
}

/// A cell as text in a message (`C002`, `5`).
fn shown(cell: &Cell) -> String {
    match cell {
        Cell::Null => "null".into(),
        Cell::Int(i) => i.to_string(),
        Cell::Numeric(f) => f.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Text(s) => s.clone(),
    }
}

/// A key as CKAN prints it: a Python list (`['C002']`, `[5]`).
fn key_repr(values: &[&Value]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => format!("'{s}'"),
            Value::Null => "None".into(),
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The Validation Error of a record that breaks the primary key.
fn duplicate_key(resource: &DatastoreResource, row: usize, values: &[String]) -> DatastoreError {
    let orig = unique_violation_text(&resource.table_name, &resource.primary_key, values);
    let message = format!(
        "duplicate key value violates unique constraint \"{}\": Key ({})=({}) already exists.",
        key_index(&resource.table_name),
        resource.primary_key.join(", "),
        values.join(", ")
    );
    DatastoreError::Validation(Invalid {
        key: "records",
        message,
        records_row: Some(row),
        info: Some(json!({"orig": orig, "pgcode": UNIQUE_VIOLATION})),
    })
}

/// `"a" = $1 AND "b" = $2` for the key fields and their cells.
fn push_key(sql: &mut Sql, key: &[(&Field, Cell)]) {
    for (i, (field, cell)) in key.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        sql.push(&format!("{} = ", quote(&field.id)))
            .bind(param(field.kind, cell.clone()));
    }
}

/// Inserts `records` after `last_id` (CKAN's `insert`); returns how many.
pub(super) async fn insert_records(
    tx: &mut Tx<'_>,
    backend: Backend,
    resource: &DatastoreResource,
    last_id: i64,
    records: &[Map<String, Value>],
) -> Result<i64> {
    // CKAN checks every record's keys before it writes any.
    for (i, record) in records.iter().enumerate() {
        let extra: Vec<&str> = record
            .keys()
            .filter(|k| resource.field(k).is_none())
            .map(String::as_str)
            .collect();
        if !extra.is_empty() {
            return Err(DatastoreError::invalid(
                "records",
                format!("row \"{}\" has extra keys \"{}\"", i + 1, extra.join(", ")),
            ));
        }
    }
    let mut rows = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        match typed_row(&resource.fields, record) {
            Ok(row) => rows.push(row),
            // The first record at fault is named, as CKAN names it: one before this may
            // already break the key.
            Err(message) => {
                return Err(first_duplicate_record(tx, backend, resource, &rows)
                    .await?
                    .unwrap_or_else(|| DatastoreError::in_record(i, message)))
            }
        }
    }
    if resource.primary_key.is_empty() {
        let table = &resource.table_name;
        return insert_rows(tx, backend, table, &resource.fields, rows, last_id + 1).await;
    }
    // In a savepoint, so that a broken key can be traced to its record afterwards.
    let mut attempt = sqlx::Connection::begin(&mut **tx).await?;
    let table = &resource.table_name;
    let outcome = insert_rows(
        &mut attempt,
        backend,
        table,
        &resource.fields,
        rows.clone(),
        last_id + 1,
    )
    .await;
    match outcome {
        Ok(count) => {
            attempt.commit().await?;
            Ok(count)
        }
        Err(DatastoreError::Store(crate::StoreError::Database(error)))
            if is_unique_violation(&error) =>
        {
            attempt.rollback().await?;
            let found = first_duplicate_record(tx, backend, resource, &rows).await?;
            Err(found.unwrap_or_else(|| {
                DatastoreError::invalid("records", "the records break the primary key")
            }))
        }
        Err(error) => Err(error),
    }
}

/// The error naming the first of `rows` whose key another of them or a stored row has, if one
/// has (never when the table has no primary key).
async fn first_duplicate_record(
    tx: &mut Tx<'_>,
    backend: Backend,
    resource: &DatastoreResource,
    rows: &[Vec<Cell>],
) -> Result<Option<DatastoreError>> {
    if resource.primary_key.is_empty() {
        return Ok(None);
    }
    let positions: Vec<usize> = resource
        .primary_key
        .iter()
        .filter_map(|id| resource.fields.iter().position(|f| &f.id == id))
        .collect();
    let mut seen = HashSet::new();
    for (row_number, row) in rows.iter().enumerate() {
        let key: Vec<(&Field, Cell)> = positions
            .iter()
            .map(|&i| (&resource.fields[i], row[i].clone()))
            .collect();
        if key.iter().any(|(_, cell)| *cell == Cell::Null) {
            continue; // NULLs never collide in a unique index
        }
        let values: Vec<String> = key.iter().map(|(_, cell)| shown(cell)).collect();
        let mut sql = Sql::new(
            backend,
            &format!(
                "SELECT COUNT(*) FROM {} WHERE ",
                quote(&resource.table_name)
            ),
        );
        push_key(&mut sql, &key);
        let stored: i64 = sqlx::query_scalar_with(sql.text(), sql.arguments())
            .fetch_one(&mut **tx)
            .await?;
        if stored > 0 || !seen.insert(values.clone()) {
            return Ok(Some(duplicate_key(resource, row_number, &values)));
        }
    }
    Ok(None)
}

/// What one record of an `update` or `upsert` changed.
enum Written {
    Updated,
    Inserted,
}

/// Updates (and for `upsert`, inserts) one record, following CKAN's checks in CKAN's order.
async fn write_record(
    tx: &mut Tx<'_>,
    backend: Backend,
    resource: &DatastoreResource,
    method: WriteMethod,
    (row, record): (usize, &Map<String, Value>),
    next_id: i64,
) -> Result<Written> {
    let by_id = record.get("_id");
    if by_id.is_none() && resource.primary_key.is_empty() {
        return Err(DatastoreError::invalid(
            "table",
            "unique key must be passed for update/upsert",
        ));
    }
    if by_id.is_none() {
        let missing: Vec<&str> = resource
            .primary_key
            .iter()
            .filter(|k| !record.contains_key(*k))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(DatastoreError::invalid(
                "key",
                format!(
                    "fields \"{}\" are missing but needed as key",
                    missing.join(", ")
                ),
            ));
        }
    }
    let unknown: Vec<&str> = record
        .keys()
        .filter(|k| *k != "_id" && resource.field(k).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(DatastoreError::invalid(
            "fields",
            format!("fields \"{}\" do not exist", unknown.join(", ")),
        ));
    }
    let at_row = |message: String| DatastoreError::in_record(row, message);
    let mut used = Vec::new();
    for field in resource
        .fields
        .iter()
        .filter(|f| record.contains_key(&f.id))
    {
        let cell = cell_from_json(field.kind, &record[&field.id]).map_err(at_row)?;
        used.push((field, cell));
    }
    let id_field = Field {
        id: "_id".into(),
        kind: machi_core::opendata::types::ColumnType::Integer,
    };
    let (key, key_values): (Vec<(&Field, Cell)>, Vec<&Value>) = match by_id {
        Some(id) => {
            let cell = cell_from_json(id_field.kind, id).map_err(at_row)?;
            (vec![(&id_field, cell)], vec![id])
        }
        None => {
            let key = resource
                .primary_key
                .iter()
                .filter_map(|id| used.iter().find(|(f, _)| &f.id == id).cloned())
                .collect();
            (
                key,
                resource.primary_key.iter().map(|k| &record[k]).collect(),
            )
        }
    };
    let duplicate = |error: sqlx::Error| {
        if is_unique_violation(&error) {
            let values: Vec<String> = resource
                .primary_key
                .iter()
                .map(|k| {
                    used.iter()
                        .find(|(f, _)| &f.id == k)
                        .map_or("…".into(), |(_, c)| shown(c))
                })
                .collect();
            duplicate_key(resource, row, &values)
        } else {
            error.into()
        }
    };
    let table = quote(&resource.table_name);
    let matched = if used.is_empty() {
        let mut sql = Sql::new(backend, &format!("SELECT COUNT(*) FROM {table} WHERE "));
        push_key(&mut sql, &key);
        sqlx::query_scalar_with::<_, i64, _>(sql.text(), sql.arguments())
            .fetch_one(&mut **tx)
            .await? as u64
    } else {
        let mut sql = Sql::new(backend, &format!("UPDATE {table} SET "));
        for (i, (field, cell)) in used.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{} = ", quote(&field.id)))
                .bind(param(field.kind, cell.clone()));
        }
        sql.push(" WHERE ");
        push_key(&mut sql, &key);
        let done = sqlx::query_with(sql.text(), sql.arguments())
            .execute(&mut **tx)
            .await
            .map_err(duplicate)?;
        done.rows_affected()
    };
    if matched > 0 {
        return Ok(Written::Updated);
    }
    if method == WriteMethod::Update {
        return Err(DatastoreError::invalid(
            "key",
            format!("key \"{}\" not found", key_repr(&key_values)),
        ));
    }
    let mut columns = vec!["_id".to_string()];
    columns.extend(used.iter().map(|(f, _)| quote(&f.id)));
    let mut sql = Sql::new(
        backend,
        &format!("INSERT INTO {table} ({}) VALUES (", columns.join(", ")),
    );
    sql.bind(Param::Int(next_id));
    for (field, cell) in &used {
        sql.push(", ").bind(param(field.kind, cell.clone()));
    }
    sql.push(")");
    sqlx::query_with(sql.text(), sql.arguments())
        .execute(&mut **tx)
        .await
        .map_err(duplicate)?;
    Ok(Written::Inserted)
}

impl Store {
    /// `datastore_upsert` with `method`: all records or none. With `dry_run` every check runs
    /// and nothing is kept. Returns the resource as it is (or would be) after the call.
    #[tracing::instrument(name = "datastore_upsert", skip(self, records), fields(records = records.len()))]
    pub async fn datastore_upsert(
        &self,
        tenant: &str,
        resource_id: &str,
        method: WriteMethod,
        records: &[Map<String, Value>],
        dry_run: bool,
    ) -> Result<DatastoreResource> {
        let keep = if dry_run {
            Keep::Rollback
        } else {
            Keep::Commit
        };
        let mut tx = self.begin_write(tenant, resource_id).await?;
        let outcome = self
            .upsert_in(&mut tx, tenant, resource_id, method, records)
            .await;
        finish(tx, self.backend, outcome, keep).await
    }

    async fn upsert_in(
        &self,
        tx: &mut Tx<'_>,
        tenant: &str,
        resource_id: &str,
        method: WriteMethod,
        records: &[Map<String, Value>],
    ) -> Result<DatastoreResource> {
        let resource = registered(&mut **tx, tenant, resource_id).await?;
        let last_id = resource.last_id(tx).await?;
        let inserted = match method {
            WriteMethod::Insert => {
                insert_records(tx, self.backend, &resource, last_id, records).await?
            }
            _ => {
                let mut inserted = 0;
                for (row, record) in records.iter().enumerate() {
                    let next_id = last_id + inserted + 1;
                    let at = (row, record);
                    let written =
                        write_record(tx, self.backend, &resource, method, at, next_id).await?;
                    if matches!(written, Written::Inserted) {
                        inserted += 1;
                    }
                }
                inserted
            }
        };
        let entry = Entry {
            table: &resource.table_name,
            fields: &resource.fields,
            primary_key: &resource.primary_key,
            row_count: resource.row_count + inserted,
            last_id: last_id + inserted,
        };
        register(tx, tenant, resource_id, entry).await?;
        registered(&mut **tx, tenant, resource_id).await
    }

    /// `datastore_delete` with `filters`: removes the rows they match (every row for `{}`),
    /// keeping the table, its fields and the `_id`s given so far. Returns how many went.
    #[tracing::instrument(name = "datastore_delete_rows", skip(self, filters))]
    pub async fn datastore_delete_rows(
        &self,
        tenant: &str,
        resource_id: &str,
        filters: &Map<String, Value>,
    ) -> Result<i64> {
        let mut tx = self.begin_write(tenant, resource_id).await?;
        let outcome = self
            .delete_rows_in(&mut tx, tenant, resource_id, filters)
            .await;
        finish(tx, self.backend, outcome, Keep::Commit).await
    }

    async fn delete_rows_in(
        &self,
        tx: &mut Tx<'_>,
        tenant: &str,
        resource_id: &str,
        filters: &Map<String, Value>,
    ) -> Result<i64> {
        let resource = registered(&mut **tx, tenant, resource_id).await?;
        let last_id = resource.last_id(tx).await?;
        let query = SearchQuery {
            filters: filters.clone(),
            ..SearchQuery::default()
        };
        let table = quote(&resource.table_name);
        let mut sql = Sql::new(self.backend, &format!("DELETE FROM {table}"));
        let all = all_fields(&resource.fields);
        push_where(&mut sql, self.backend, &all, &query, "filters")?;
        let deleted = sqlx::query_with(sql.text(), sql.arguments())
            .execute(&mut **tx)
            .await?
            .rows_affected() as i64;
        let entry = Entry {
            table: &resource.table_name,
            fields: &resource.fields,
            primary_key: &resource.primary_key,
            row_count: resource.row_count - deleted,
            last_id,
        };
        register(tx, tenant, resource_id, entry).await?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printed_as_ckan_prints_them() {
        assert_eq!(key_repr(&[&json!("C999")]), "['C999']");
        assert_eq!(key_repr(&[&json!(5), &Value::Null]), "[5, None]");
    }

    #[test]
    fn methods_are_ckan_s_three() {
        assert_eq!(WriteMethod::parse("update"), Some(WriteMethod::Update));
        assert_eq!(WriteMethod::parse("replace"), None);
    }
}
