//! CKAN's `datastore_create`: makes a resource's table, or extends the one it has, then
//! inserts the records given and sets the primary key.
//!
//! As CKAN does: a field declared without a type takes the type guessed from its value in the
//! first record, and keys of the first record that no field declares become fields too; on an
//! existing table, declared fields it already has keep their type and new ones are added; the
//! records are inserted (never replacing rows); a primary key differing from the table's
//! replaces it, and rows that break it refuse the whole call.

use machi_core::opendata::ingest::Field;
use machi_core::opendata::types::ColumnType;
use machi_core::opendata::values::guess_type;
use serde_json::{Map, Value};

use super::records::insert_records;
use super::write::{
    analyze, create_indexes, create_primary_key, create_table, drop_primary_key, register, Entry,
    Tx,
};
use super::{
    check_fields, check_primary_key, finish, fresh_table_name, quote, registered, sql_type,
    DatastoreError, DatastoreResource, Keep, Result,
};
use crate::{Backend, Store};

/// A field as `datastore_create` declares it: the type may be left to be guessed.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub id: String,
    pub kind: Option<ColumnType>,
}

/// What `datastore_create` asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateSpec {
    pub fields: Vec<Declared>,
    /// `None` keeps the table's key; an empty list removes it.
    pub primary_key: Option<Vec<String>>,
    pub records: Vec<Map<String, Value>>,
}

/// The fields the call adds to `existing`: declared ones the table lacks (typed or guessed
/// from the first record), then keys of the first record nothing declares.
fn new_fields(existing: &[Field], spec: &CreateSpec) -> Result<Vec<Field>> {
    let first = spec.records.first();
    let mut added: Vec<Field> = Vec::new();
    for declared in &spec.fields {
        if existing.iter().any(|f| f.id == declared.id) {
            continue;
        }
        let kind = match declared.kind {
            Some(kind) => kind,
            None => first
                .and_then(|record| record.get(&declared.id))
                .map(guess_type)
                .ok_or_else(|| {
                    DatastoreError::invalid(
                        "fields",
                        format!("\"{}\" type not guessable", declared.id),
                    )
                })?,
        };
        added.push(Field {
            id: declared.id.clone(),
            kind,
        });
    }
    if let Some(first) = first {
        for (id, value) in first {
            let known = existing.iter().chain(&added).any(|f| &f.id == id)
                || spec.fields.iter().any(|d| &d.id == id);
            if !known {
                added.push(Field {
                    id: id.clone(),
                    kind: guess_type(value),
                });
            }
        }
    }
    Ok(added)
}

/// Adds `fields` as columns of an existing table.
async fn add_columns(
    tx: &mut Tx<'_>,
    backend: Backend,
    table: &str,
    fields: &[Field],
) -> Result<()> {
    for field in fields {
        let text = format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            quote(table),
            quote(&field.id),
            sql_type(backend, field.kind)
        );
        sqlx::query(&text).execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// `datastore_create`: the resource's table made or extended, the records inserted and the
    /// primary key set, all in one transaction.
    #[tracing::instrument(name = "datastore_create", skip(self, spec), fields(records = spec.records.len()))]
    pub async fn datastore_create(
        &self,
        tenant: &str,
        resource_id: &str,
        spec: CreateSpec,
    ) -> Result<DatastoreResource> {
        let mut tx = self.begin_write(tenant, resource_id).await?;
        let outcome = self.create_in(&mut tx, tenant, resource_id, spec).await;
        finish(tx, self.backend, outcome, Keep::Commit).await
    }

    async fn create_in(
        &self,
        tx: &mut Tx<'_>,
        tenant: &str,
        resource_id: &str,
        spec: CreateSpec,
    ) -> Result<DatastoreResource> {
        let existing = match registered(&mut **tx, tenant, resource_id).await {
            Ok(resource) => Some(resource),
            Err(DatastoreError::NotFound(_)) => None,
            Err(error) => return Err(error),
        };
        let old_fields = existing.as_ref().map_or(&[][..], |r| &r.fields[..]);
        let added = new_fields(old_fields, &spec)?;
        let fields: Vec<Field> = old_fields.iter().chain(&added).cloned().collect();
        check_fields(&fields)?;
        let old_key = existing.as_ref().map(|r| r.primary_key.clone());
        let primary_key = spec
            .primary_key
            .clone()
            .or_else(|| old_key.clone())
            .unwrap_or_default();
        check_primary_key(&fields, &primary_key)?;

        let (table, row_count, last_id) = match &existing {
            Some(resource) => {
                add_columns(tx, self.backend, &resource.table_name, &added).await?;
                let last_id = resource.last_id(tx).await?;
                (resource.table_name.clone(), resource.row_count, last_id)
            }
            None => {
                let table = fresh_table_name(tenant, resource_id);
                create_table(tx, self.backend, &table, &fields).await?;
                (table, 0, 0)
            }
        };
        let key_changes = old_key.as_deref() != Some(&primary_key[..]);
        // A key set by this call is built after the rows are in, as CKAN builds it.
        let key_while_inserting = if key_changes {
            old_key.clone().unwrap_or_default()
        } else {
            primary_key.clone()
        };
        let resource = DatastoreResource {
            resource_id: resource_id.to_string(),
            fields: fields.clone(),
            primary_key: key_while_inserting,
            row_count,
            updated_at: crate::Time::now(),
            table_name: table.clone(),
            last_id: Some(last_id),
        };
        let inserted = insert_records(tx, self.backend, &resource, last_id, &spec.records).await?;
        if key_changes {
            drop_primary_key(tx, &table).await?;
            create_primary_key(tx, &table, &primary_key).await?;
        }
        // A new table's fields are indexed after its first rows; fields added to a table
        // are indexed as they come, within the same limit; a new key may leave the old key's
        // first field needing an index of its own.
        let from = if key_changes { 0 } else { old_fields.len() };
        create_indexes(tx, &table, &fields, from, primary_key.first()).await?;
        if existing.is_none() {
            analyze(tx, self.backend, &table).await?;
        }
        let entry = Entry {
            table: &table,
            fields: &fields,
            primary_key: &primary_key,
            row_count: row_count + inserted,
            last_id: last_id + inserted,
        };
        register(tx, tenant, resource_id, entry).await?;
        registered(&mut **tx, tenant, resource_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn undeclared_types_and_fields_are_guessed_from_the_first_record() {
        let spec = CreateSpec {
            fields: vec![
                Declared {
                    id: "code".into(),
                    kind: Some(ColumnType::Text),
                },
                Declared {
                    id: "count".into(),
                    kind: None,
                },
            ],
            primary_key: None,
            records: vec![record(json!({"code": "C1", "count": 5, "note": "x"}))],
        };
        let added = new_fields(&[], &spec).unwrap();
        let kinds: Vec<(&str, &str)> = added
            .iter()
            .map(|f| (f.id.as_str(), f.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [("code", "text"), ("count", "int4"), ("note", "text")]
        );
        let existing = &added[..1];
        let more = new_fields(existing, &spec).unwrap();
        assert_eq!(more.len(), 2, "fields the table has are not added again");
        let untypable = CreateSpec {
            records: vec![],
            ..spec
        };
        assert!(new_fields(&[], &untypable).is_err());
    }
}
