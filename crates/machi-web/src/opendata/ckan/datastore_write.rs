//! The datastore's write actions, for an API token of staff who may write the resource's
//! dataset: `datastore_create` (make or extend the table, insert records, set the primary
//! key), `datastore_upsert` (`insert`, `upsert` or `update`, with `dry_run`) and
//! `datastore_delete` (the whole table, or the rows `filters` match). Parameters and answers
//! are CKAN's; the rules themselves are in machi-store's datastore.

use machi_core::opendata::types::ColumnType;
use machi_store::datastore::{CreateSpec, Declared, WriteMethod};
use machi_store::opendata::ResourceInput;
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

/// A resource `datastore_create` adds to a dataset before making its table (`resource:
/// {"package_id": …, "name": …}`, CKAN's way of publishing a table in one call): with no `url`,
/// its rows are all there is, served at `/datastore/dump/{id}`.
async fn new_resource(call: &Call<'_>, given: &Value) -> Result<(String, String), CkanError> {
    let user = actor(call).await?;
    let given = given
        .as_object()
        .ok_or_else(|| CkanError::validation("resource", "resource must be a dict"))?;
    let text = |key: &str| given.get(key).and_then(Value::as_str).unwrap_or_default();
    let package_id = text("package_id");
    if package_id.is_empty() {
        return Err(CkanError::validation("package_id", "Missing value"));
    }
    let dataset = writable(call, &user, package_id).await?;
    let url = text("url");
    if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
        return Err(CkanError::validation("url", "give the file's http(s) URL"));
    }
    let input = ResourceInput {
        name: text("name").to_string(),
        description: text("description").to_string(),
        format: text("format").to_ascii_uppercase(),
        url: url.to_string(),
        ..ResourceInput::default()
    };
    let added = call
        .state
        .store
        .add_resource(&call.city.id, &dataset.id, &input, &user.email)
        .await?;
    Ok((added.id, user.email))
}

pub(super) async fn datastore_create(call: &Call<'_>) -> Outcome {
    let given_resource = call.params.0.get("resource").filter(|r| !r.is_null());
    let spec = CreateSpec {
        fields: declared_fields(&call.params)?,
        primary_key: primary_key(&call.params)?,
        records: records(&call.params)?,
    };
    let (resource_id, added_by) = match (given_resource, call.params.text("resource_id")) {
        (Some(_), Some(_)) => {
            return Err(CkanError::validation(
                "resource",
                "resource cannot be used with resource_id",
            ))
        }
        (None, None) => {
            return Err(CkanError::validation(
                "resource_id",
                "resource_id or resource required",
            ))
        }
        (Some(given), None) => {
            let (id, actor) = new_resource(call, given).await?;
            (id, Some(actor))
        }
        (None, Some(_)) => (writable_resource(call).await?, None),
    };
    let store = &call.state.store;
    let created = store
        .datastore_create(&call.city.id, &resource_id, spec)
        .await;
    let resource = match (created, added_by) {
        (Ok(resource), _) => resource,
        (Err(error), Some(actor)) => {
            store
                .withdraw_new_resource(&call.city.id, &resource_id, &actor)
                .await?;
            return Err(error.into());
        }
        (Err(error), None) => return Err(error.into()),
    };
    let mut result = json!({
        "resource_id": resource_id,
        "fields": resource.fields,
        "method": "insert",
        "total": resource.row_count,
    });
    if let Some(given) = given_resource {
        result["resource"] = given.clone();
    }
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

/// `datastore_delete`: without `filters` (or with `null`) the whole table goes; with a dict,
/// the rows it matches (`{}` is every row, the table stays).
pub(super) async fn datastore_delete(call: &Call<'_>) -> Outcome {
    let resource_id = writable_resource(call).await?;
    if matches!(call.params.0.get("filters"), None | Some(Value::Null)) {
        call.state
            .store
            .datastore_drop(&call.city.id, &resource_id)
            .await?;
        return Ok(json!({"resource_id": resource_id}));
    }
    delete_rows(call, resource_id).await
}

/// `datastore_records_delete` (CKAN 2.11): the rows `filters` match, never the table;
/// `filters` is required.
pub(super) async fn datastore_records_delete(call: &Call<'_>) -> Outcome {
    let resource_id = writable_resource(call).await?;
    if matches!(call.params.0.get("filters"), None | Some(Value::Null)) {
        return Err(CkanError::validation("filters", "Missing value"));
    }
    delete_rows(call, resource_id).await
}

async fn delete_rows(call: &Call<'_>, resource_id: String) -> Outcome {
    if matches!(call.params.0.get("filters"), Some(Value::String(text)) if text.trim().is_empty()) {
        return Err(CkanError::validation(
            "filters",
            "filters must be either a dict or null.",
        ));
    }
    let filters = filters(&call.params)?;
    call.state
        .store
        .datastore_delete_rows(&call.city.id, &resource_id, &filters)
        .await?;
    Ok(json!({"resource_id": resource_id, "filters": filters}))
}
