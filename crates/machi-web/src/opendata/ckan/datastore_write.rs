//! The datastore's write actions, for an API token of staff who may write the resource's
//! dataset: `datastore_create` (make or extend the table, insert records, set the primary
//! key), `datastore_upsert` (`insert`, `upsert` or `update`, with `dry_run`) and
//! `datastore_delete` (the whole table, or the rows `filters` match). Parameters and answers
//! are CKAN's; the rules themselves are in machi-store's datastore.

use machi_core::opendata::types::ColumnType;
use machi_store::datastore::{CreateSpec, Declared, WriteMethod};
use serde_json::{json, Map, Value};

use super::datastore::filters;
use super::package::Call;
use super::write::{actor, writable};
use super::{CkanError, Params};

type Outcome = Result<Value, CkanError>;

/// The resource a datastore write is for, if the call's user may write its dataset.
async fn writable_resource(call: &Call<'_>) -> Result<String, CkanError> {
    let user = actor(call).await?;
    let id = call.params.required("resource_id")?;
    let resource = call
        .state
        .store
        .resource(&call.city.id, &id)
        .await?
        .ok_or_else(|| CkanError::not_found(format!("Resource \"{id}\" was not found.")))?;
    writable(call, &user, &resource.dataset_id).await?;
    Ok(id)
}

/// `records`: a list of JSON objects (absent is none).
pub(super) fn records(params: &Params) -> Result<Vec<Map<String, Value>>, CkanError> {
    params
        .json_list("records", "Records has to be a list of dicts")?
        .into_iter()
        .enumerate()
        .map(|(i, record)| match record {
            Value::Object(record) => Ok(record),
            _ => Err(CkanError::validation(
                "records",
                format!("row \"{i}\" is not a json object"),
            )),
        })
        .collect()
}

/// `fields`: `[{"id": …, "type": …}]`, the type optional (guessed from the first record).
pub(super) fn declared_fields(params: &Params) -> Result<Vec<Declared>, CkanError> {
    params
        .json_list("fields", "fields must be a list of {\"id\", \"type\"}")?
        .iter()
        .map(|field| {
            let id = field
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| CkanError::validation("fields", "Missing value: id"))?;
            let kind = match field.get("type").and_then(Value::as_str) {
                None => None,
                Some(name) => Some(ColumnType::parse(name).ok_or_else(|| {
                    // PostgreSQL's words, which CKAN passes on.
                    CkanError::validation("fields", format!("type \"{name}\" does not exist"))
                })?),
            };
            Ok(Declared {
                id: id.to_string(),
                kind,
            })
        })
        .collect()
}

/// `primary_key`: a list of field ids, or one text with ids separated by commas.
/// `None` when the call gives no key (the table keeps its own).
pub(super) fn primary_key(params: &Params) -> Result<Option<Vec<String>>, CkanError> {
    match params.0.get("primary_key") {
        None | Some(Value::Null) => Ok(None),
        Some(_) => params.list("primary_key").map(Some),
    }
}

pub(super) async fn datastore_create(call: &Call<'_>) -> Outcome {
    let resource_id = writable_resource(call).await?;
    let spec = CreateSpec {
        fields: declared_fields(&call.params)?,
        primary_key: primary_key(&call.params)?,
        records: records(&call.params)?,
    };
    let resource = call
        .state
        .store
        .datastore_create(&call.city.id, &resource_id, spec)
        .await?;
    let mut result = json!({
        "resource_id": resource_id,
        "fields": resource.fields,
        "method": "insert",
        "total": resource.row_count,
    });
    if !resource.primary_key.is_empty() {
        result["primary_key"] = json!(resource.primary_key);
    }
    Ok(result)
}

pub(super) async fn datastore_upsert(call: &Call<'_>) -> Outcome {
    let resource_id = writable_resource(call).await?;
    let name = call
        .params
        .text("method")
        .unwrap_or_else(|| "upsert".into());
    let method = WriteMethod::parse(&name).ok_or_else(|| {
        CkanError::validation(
            "method",
            format!("\"{name}\" is not insert, upsert or update"),
        )
    })?;
    let records = records(&call.params)?;
    let dry_run = call.params.flag("dry_run", false)?;
    let resource = call
        .state
        .store
        .datastore_upsert(&call.city.id, &resource_id, method, &records, dry_run)
        .await?;
    Ok(json!({
        "resource_id": resource_id,
        "method": name,
        "total": resource.row_count,
    }))
}

pub(super) async fn datastore_delete(call: &Call<'_>) -> Outcome {
    let resource_id = writable_resource(call).await?;
    let store = &call.state.store;
    if call.params.0.contains_key("filters") {
        let filters = filters(&call.params)?;
        store
            .datastore_delete_rows(&call.city.id, &resource_id, &filters)
            .await?;
        Ok(json!({"resource_id": resource_id, "filters": filters}))
    } else {
        store.datastore_drop(&call.city.id, &resource_id).await?;
        Ok(json!({"resource_id": resource_id}))
    }
}
