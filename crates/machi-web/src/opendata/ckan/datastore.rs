//! The datastore read actions: `datastore_search` (filters, q, fields, sort, limit, offset,
//! include_total, distinct, records_format) and `datastore_info`, for resources of published
//! datasets, in CKAN's shapes (`fields` with `_id` first, `records` as objects, lists or
//! COPY-style text, `total`, `_links`; `meta` and each field's `schema`); and the table's
//! rows as CSV at `/datastore/dump/{id}`.

use axum::extract::{Path, State};
use axum::response::Response;
use machi_core::opendata::copy_text::{copy_text, Delimiter};
use machi_core::opendata::ingest::Field;
use machi_store::datastore::{
    DatastoreError, FullText, Invalid, SearchQuery, SearchResult, MAX_LIMIT,
};
use serde_json::{json, Map, Value};

use super::package::Call;
use super::{CkanError, Params};
use crate::kit::{named_download, ApiError, City};
use crate::AppState;

impl From<DatastoreError> for CkanError {
    fn from(error: DatastoreError) -> Self {
        match error {
            DatastoreError::NotFound(id) => {
                CkanError::not_found(format!("Resource \"{id}\" was not found."))
            }
            DatastoreError::Validation(invalid) => validation(invalid),
            DatastoreError::Store(error) => error.into(),
        }
    }
}

/// A Validation Error as CKAN's datastore gives it: the message under the parameter at fault,
/// with `records_row` and `info` when the store names them.
fn validation(invalid: Invalid) -> CkanError {
    let mut error = CkanError::validation(invalid.key, invalid.message);
    if let Some(row) = invalid.records_row {
        error.fields.insert("records_row".into(), json!(row));
    }
    if let Some(info) = invalid.info {
        error.fields.insert("info".into(), info);
    }
    error
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
    call.state
        .store
        .published_resource(&call.city.id, &id)
        .await?
        .ok_or_else(not_found)?;
    Ok(id)
}

/// `filters` as a JSON object, or (in a query string) as JSON text.
pub(super) fn filters(params: &Params) -> Result<Map<String, Value>, CkanError> {
    let invalid = || {
        CkanError::validation(
            "filters",
            "Filters must be defined as a dict or a list of dicts",
        )
    };
    // CKAN's OR form, a list of dicts, is the same as `{"$or": [...]}`.
    let dict_of = |value: Value| match value {
        Value::Object(map) => Ok(map),
        Value::Array(items) if items.iter().all(Value::is_object) => {
            Ok(Map::from_iter([("$or".to_string(), Value::Array(items))]))
        }
        _ => Err(invalid()),
    };
    match params.0.get("filters") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(text)) => dict_of(serde_json::from_str(text).map_err(|_| invalid())?),
        Some(value) => dict_of(value.clone()),
    }
}

/// `q`: words anywhere, or an object of words per field (in a query string, as JSON text).
fn full_text(params: &Params) -> Result<Option<FullText>, CkanError> {
    let invalid = || CkanError::validation("q", "Expected text or a JSON object of field: text");
    let per_field = |map: &Map<String, Value>| {
        map.iter()
            .map(|(field, q)| match q {
                Value::String(q) => Ok((field.clone(), q.clone())),
                Value::Number(n) => Ok((field.clone(), n.to_string())),
                _ => Err(invalid()),
            })
            .collect::<Result<_, _>>()
            .map(FullText::PerField)
    };
    let q = match params.0.get("q") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(map)) => per_field(map)?,
        Some(Value::String(text)) if text.trim_start().starts_with('{') => {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => per_field(&map)?,
                _ => FullText::Anywhere(text.clone()),
            }
        }
        Some(_) => FullText::Anywhere(params.text("q").ok_or_else(invalid)?),
    };
    Ok((!q.is_empty()).then_some(q))
}

/// The search datastore_search asks for, from its parameters (all but the resource).
pub(super) fn search_query(p: &Params) -> Result<SearchQuery, CkanError> {
    let fields = p.list("fields")?;
    Ok(SearchQuery {
        filters: filters(p)?,
        q: full_text(p)?,
        fields: (!fields.is_empty()).then_some(fields),
        sort: p.text("sort").filter(|s| !s.is_empty()),
        // Above the maximum, CKAN gives the maximum (`ckan.datastore.search.rows_max`).
        limit: Some(p.int("limit", 100, 0, i64::MAX)?.min(MAX_LIMIT)),
        offset: Some(p.int("offset", 0, 0, i64::MAX)?),
        include_total: p.flag("include_total", true)?,
        distinct: p.flag("distinct", false)?,
    })
}

/// How `records` is given: objects (the default), lists in `fields` order, or COPY-style CSV
/// or TSV text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordsFormat {
    Objects,
    Lists,
    Text(Delimiter),
}

impl RecordsFormat {
    const ALL: [Self; 4] = [
        Self::Objects,
        Self::Lists,
        Self::Text(Delimiter::Comma),
        Self::Text(Delimiter::Tab),
    ];

    fn read(p: &Params) -> Result<Self, CkanError> {
        let name = p.text("records_format").unwrap_or_else(|| "objects".into());
        Self::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or_else(|| {
                let names = Self::ALL.map(Self::name);
                CkanError::validation(
                    "records_format",
                    format!("Value must be one of {names:?}").replace('"', "'"),
                )
            })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Objects => "objects",
            Self::Lists => "lists",
            Self::Text(Delimiter::Comma) => "csv",
            Self::Text(Delimiter::Tab) => "tsv",
        }
    }

    fn records(self, found: &SearchResult) -> Value {
        match self {
            Self::Objects => json!(found.records()),
            Self::Lists => json!(found.rows),
            Self::Text(delimiter) => Value::String(copy_text(&found.rows, delimiter)),
        }
    }
}

pub(super) async fn search(call: &Call<'_>) -> Result<Value, CkanError> {
    let resource_id = published_resource(call, &call.params).await?;
    let query = search_query(&call.params)?;
    let format = RecordsFormat::read(&call.params)?;
    let include_next_page = call.params.flag("include_next_page", false)?;
    let found = call
        .state
        .store
        .datastore_search(&call.city.id, &resource_id, &query)
        .await?;
    let start = format!("/api/3/action/datastore_search?resource_id={resource_id}");
    let mut result = json!({
        "resource_id": resource_id,
        "fields": result_fields(&found.fields),
        "records": format.records(&found),
        "limit": found.limit,
        "offset": found.offset,
        "include_total": query.include_total,
        "records_format": format.name(),
        "total_estimation_threshold": Value::Null,
        "include_next_page": include_next_page,
        "_links": {
            "start": start,
            "next": format!("{start}&offset={}", found.offset + found.limit),
        },
    });
    if let (Some(total), Some(object)) = (found.total, result.as_object_mut()) {
        object.insert("total".into(), json!(total));
        object.insert("total_was_estimated".into(), json!(false));
    }
    if let Some(object) = result.as_object_mut() {
        match &query.q {
            Some(FullText::Anywhere(q)) => object.insert("q".into(), json!(q)),
            Some(FullText::PerField(q)) => object.insert("q".into(), json!(q)),
            None => None,
        };
    }
    if let Some(object) = result.as_object_mut() {
        echo_asked(object, &call.params, &query);
        if let Some(next) = next_page(&query, &found).filter(|_| include_next_page) {
            object.insert("next_page".into(), next);
        }
    }
    Ok(result)
}

/// CKAN 2.12's `next_page`: the filters that fetch the page after this one by `_id` (`{"_id":
/// {"gt": last}}`, or `lt` the first when sorted `_id desc`), faster than `offset` on a large
/// table. Only for a full page in `_id` order that returns `_id`; absent on the last page.
fn next_page(query: &SearchQuery, found: &SearchResult) -> Option<Value> {
    let descending = match query.sort.as_deref().map(str::trim) {
        // Without a sort, a `q` orders by rank.
        None | Some("") if query.q.as_ref().is_none_or(FullText::is_empty) => false,
        Some("_id") | Some("_id asc") | Some("\"_id\"") | Some("\"_id\" asc") => false,
        Some("_id desc") | Some("\"_id\" desc") => true,
        _ => return None,
    };
    if query.distinct || found.rows.is_empty() || (found.rows.len() as i64) < found.limit {
        return None;
    }
    let column = found.fields.iter().position(|f| f.id == "_id")?;
    let ids = found.rows.iter().filter_map(|row| row[column].as_i64());
    let (op, id) = if descending {
        ("lt", ids.min()?)
    } else {
        ("gt", ids.max()?)
    };
    Some(json!({"_id": {op: id}}))
}

/// What CKAN's result repeats of the call when it was asked: `filters`, `sort` and `distinct`
/// (the `fields` named are described by the result's own `fields`).
fn echo_asked(result: &mut Map<String, Value>, params: &Params, query: &SearchQuery) {
    if let Some(given) = params.0.get("filters") {
        let echoed = match given {
            Value::String(text) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::Object(query.filters.clone()))
            }
            given => given.clone(),
        };
        result.insert("filters".into(), echoed);
    }
    if let Some(sort) = &query.sort {
        result.insert("sort".into(), json!(sort));
    }
    if params.0.contains_key("distinct") {
        result.insert("distinct".into(), json!(query.distinct));
    }
}

/// The fields of a page as CKAN lists them: `_id` is CKAN's own `int`.
fn result_fields(fields: &[Field]) -> Vec<Value> {
    fields
        .iter()
        .map(|f| match f.id.as_str() {
            "_id" => json!({"id": "_id", "type": "int"}),
            // The ranks a `q` adds (`rank`, `rank <field>`), as CKAN types them.
            id if f.kind == machi_core::opendata::types::ColumnType::Float8
                && (id == "rank" || id.starts_with("rank ")) =>
            {
                json!({"id": id, "type": "float"})
            }
            _ => json!(f),
        })
        .collect()
}

/// `datastore_info`: the table's `meta` (row count, sizes, aliases, primary key) and each
/// field with its type and `schema`, as CKAN gives them.
pub(super) async fn info(call: &Call<'_>) -> Result<Value, CkanError> {
    let resource_id = published_resource(call, &call.params).await?;
    let store = &call.state.store;
    let resource = store.datastore_info(&call.city.id, &resource_id).await?;
    let sizes = store.datastore_sizes(&call.city.id, &resource_id).await?;
    let indexed = store.datastore_indexes(&call.city.id, &resource_id).await?;
    let fields: Vec<Value> = resource
        .fields
        .iter()
        .map(|field| {
            let index = indexed.iter().find(|(id, _)| *id == field.id);
            json!({
                "id": field.id,
                "type": field.kind,
                "schema": {
                    "native_type": field.kind.sql_name(),
                    "notnull": false,
                    "index_name": index.map(|(_, name)| name.clone()),
                    "is_index": index.is_some(),
                    "uniquekey": resource.primary_key.contains(&field.id),
                },
            })
        })
        .collect();
    Ok(json!({
        "meta": {
            "id": resource_id,
            "count": resource.row_count,
            "table_type": "BASE TABLE",
            "size": sizes.table,
            "idx_size": sizes.indexes,
            "db_size": sizes.database,
            "aliases": [],
            "primary_key": resource.primary_key,
        },
        "fields": fields,
    }))
}

/// `/datastore/dump/{id}`: every row of a published resource's table as CSV with a header of
/// the field ids, `_id` first, as CKAN's dump gives it (the rows as `records_format=csv`).
pub(crate) async fn dump(
    State(state): State<AppState>,
    City(city): City,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("There is no such table.");
    state
        .store
        .published_resource(&city.id, &id)
        .await?
        .ok_or_else(not_found)?;
    let mut text = String::new();
    // Page by `_id` (keyset, as CKAN's own dump does with `next_page`), not by offset, which
    // would read the table again from the start for every page.
    let mut after: Option<i64> = None;
    loop {
        let mut filters = Map::new();
        if let Some(last) = after {
            filters.insert("_id".into(), json!({"gt": last}));
        }
        let query = SearchQuery {
            filters,
            limit: Some(MAX_LIMIT),
            include_total: false,
            ..SearchQuery::default()
        };
        let page = match state.store.datastore_search(&city.id, &id, &query).await {
            Ok(page) => page,
            Err(DatastoreError::NotFound(_)) => return Err(not_found()),
            Err(DatastoreError::Store(error)) => return Err(error.into()),
            Err(DatastoreError::Validation(invalid)) => {
                return Err(ApiError::internal(invalid.message))
            }
        };
        if after.is_none() {
            let header: Vec<Value> = page.fields.iter().map(|f| json!(f.id)).collect();
            text.push_str(&copy_text(&[header], Delimiter::Comma));
        }
        text.push_str(&copy_text(&page.rows, Delimiter::Comma));
        // `_id` is the first field of every page, and pages come in `_id` order.
        match page.rows.last().and_then(|row| row.first()?.as_i64()) {
            Some(last) if (page.rows.len() as i64) == MAX_LIMIT => after = Some(last),
            _ => break,
        }
    }
    Ok(named_download(
        text.into_bytes(),
        "text/csv; charset=utf-8",
        &format!("{id}.csv"),
    ))
}
