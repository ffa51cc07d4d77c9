//! The datastore read actions: `datastore_search` (filters, q, fields, sort, limit, offset,
//! include_total) and `datastore_info`, for resources of published datasets, in CKAN's shapes
//! (`fields` with `_id` first, `records` as objects, `total`, `_links`).

use machi_store::datastore::{DatastoreError, SearchQuery};
use serde_json::{json, Map, Value};

use super::package::Call;
use super::{CkanError, Params};

impl From<DatastoreError> for CkanError {
    fn from(error: DatastoreError) -> Self {
        match error {
            DatastoreError::NotFound(id) => {
                CkanError::not_found(format!("Resource \"{id}\" was not found."))
            }
            DatastoreError::Validation(message) => CkanError::validation("query", message),
            DatastoreError::Store(error) => error.into(),
        }
    }
}

/// The resource id of a call (`resource_id`, or `id` as `datastore_info` takes it), if it
/// belongs to a published dataset.
async fn published_resource(call: &Call<'_>, params: &Params) -> Result<String, CkanError> {
    let id = params
        .text("resource_id")
        .or_else(|| params.text("id"))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| CkanError::validation("resource_id", "Missing value"))?;
    let not_found = || CkanError::not_found(format!("Resource \"{id}\" was not found."));
    let resource = call
        .state
        .store
        .resource(&call.city.id, &id)
        .await?
        .ok_or_else(not_found)?;
    call.state
        .store
        .dataset(&call.city.id, &resource.dataset_id)
        .await?
        .filter(|d| d.state == "active")
        .ok_or_else(not_found)?;
    Ok(id)
}

/// `filters` as a JSON object, or (in a query string) as JSON text.
fn filters(params: &Params) -> Result<Map<String, Value>, CkanError> {
    let invalid = || CkanError::validation("filters", "Expected a JSON object of field: value");
    match params.0.get("filters") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(invalid()),
        },
        Some(_) => Err(invalid()),
    }
}

pub(super) async fn search(call: &Call<'_>) -> Result<Value, CkanError> {
    let p = &call.params;
    let resource_id = published_resource(call, p).await?;
    let fields = p.list("fields")?;
    let query = SearchQuery {
        filters: filters(p)?,
        q: p.text("q").filter(|q| !q.is_empty()),
        fields: (!fields.is_empty()).then_some(fields),
        sort: p.text("sort").filter(|s| !s.is_empty()),
        limit: Some(p.int("limit", 100, 0, 32_000)?),
        offset: Some(p.int("offset", 0, 0, i64::MAX)?),
        include_total: p.flag("include_total", true)?,
    };
    let found = call
        .state
        .store
        .datastore_search(&call.city.id, &resource_id, &query)
        .await?;
    let start = format!("/api/3/action/datastore_search?resource_id={resource_id}");
    let mut result = json!({
        "resource_id": resource_id,
        "fields": found.fields,
        "records": found.records(),
        "limit": found.limit,
        "offset": found.offset,
        "include_total": query.include_total,
        "records_format": "objects",
        "_links": {
            "start": start,
            "next": format!("{start}&offset={}", found.offset + found.limit),
        },
    });
    if let (Some(total), Some(object)) = (found.total, result.as_object_mut()) {
        object.insert("total".into(), json!(total));
        object.insert("total_was_estimated".into(), json!(false));
    }
    if let (Some(q), Some(object)) = (query.q, result.as_object_mut()) {
        object.insert("q".into(), json!(q));
    }
    if !query.filters.is_empty() {
        if let Some(object) = result.as_object_mut() {
            object.insert("filters".into(), Value::Object(query.filters));
        }
    }
    Ok(result)
}

pub(super) async fn info(call: &Call<'_>) -> Result<Value, CkanError> {
    let resource_id = published_resource(call, &call.params).await?;
    let resource = call
        .state
        .store
        .datastore_info(&call.city.id, &resource_id)
        .await?;
    Ok(json!({
        "meta": {"id": resource_id, "count": resource.row_count},
        "fields": resource.fields,
    }))
}
