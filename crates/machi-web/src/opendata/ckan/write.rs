//! The write actions, for an API token (`Authorization: <token>` or `X-CKAN-API-Key`) of a
//! member of staff who publishes open data: `package_create`, `package_update` (the dataset as
//! given), `package_patch` (only the keys given), `package_delete`, `resource_create` (a file
//! by URL; uploads go through the staff console), `datastore_create` and `datastore_upsert`.
//! A department writes only its own datasets; administrators write every department's.

use machi_core::opendata::catalog::{format_of, DatasetInput};
use machi_core::opendata::ingest::{typed_cell, Cell, Field};
use machi_core::opendata::types::ColumnType;
use machi_store::datastore::{UpsertMethod, UpsertRow};
use machi_store::opendata::{DatasetRecord, ResourceInput};
use machi_store::users::StaffUser;
use machi_store::StoreError;
use serde_json::{json, Map, Value};

use super::package::{package_json, Call};
use super::CkanError;

type Outcome = Result<Value, CkanError>;

/// The member of staff the call's token acts for, if they publish open data.
async fn actor(call: &Call<'_>) -> Result<StaffUser, CkanError> {
    let Some(token) = call.token.as_deref() else {
        return Err(CkanError::unauthorized(
            "an API token is required for this action",
        ));
    };
    let user = call
        .state
        .store
        .api_token_user(&call.city.id, token)
        .await?
        .ok_or_else(|| CkanError::unauthorized("the API token is not valid"))?;
    if !user.role.publishes_open_data() {
        return Err(CkanError::unauthorized(
            "this account does not publish open data",
        ));
    }
    Ok(user)
}

/// 403 unless the user may write the organization's datasets.
fn may_write(user: &StaffUser, organization: &str) -> Result<(), CkanError> {
    if user.role.manages_accounts() || user.department_code.as_deref() == Some(organization) {
        Ok(())
    } else {
        Err(CkanError::unauthorized(format!(
            "you may not write datasets of organization '{organization}'"
        )))
    }
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Names from a list of `{"name": …}` objects or of plain strings.
fn names(value: Option<&Value>) -> Option<Vec<String>> {
    let items = value?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => text(o, "name"),
                _ => None,
            })
            .collect(),
    )
}

/// `base` with every key the call gives set on it (extras too), as CKAN's dataset dict names
/// them.
fn overlay(params: &Map<String, Value>, mut input: DatasetInput) -> DatasetInput {
    let mut given: Map<String, Value> = params.clone();
    if let Some(extras) = params.get("extras").and_then(Value::as_array) {
        for extra in extras.iter().filter_map(Value::as_object) {
            if let (Some(key), Some(value)) = (text(extra, "key"), extra.get("value")) {
                given.entry(key).or_insert_with(|| value.clone());
            }
        }
    }
    let fields: [(&str, &mut String); 12] = [
        ("name", &mut input.name),
        ("title", &mut input.title_ja),
        ("title_en", &mut input.title_en),
        ("notes", &mut input.notes_ja),
        ("notes_en", &mut input.notes_en),
        ("owner_org", &mut input.organization),
        ("license_id", &mut input.license_id),
        ("frequency", &mut input.frequency),
        ("spatial", &mut input.spatial),
        ("temporal_start", &mut input.temporal_start),
        ("temporal_end", &mut input.temporal_end),
        ("maintainer", &mut input.contact_name),
    ];
    for (key, field) in fields {
        if let Some(value) = text(&given, key) {
            *field = value;
        }
    }
    if let Some(email) = text(&given, "maintainer_email") {
        input.contact_email = email;
    }
    if let Some(tags) = names(given.get("tags")) {
        input.tags = tags;
    }
    if let Some(groups) = names(given.get("groups")) {
        input.groups = groups;
    }
    input
}

/// Checks and saves a dataset; CKAN's Validation Error names each field at fault.
async fn save(
    call: &Call<'_>,
    user: &StaffUser,
    id: Option<&str>,
    input: DatasetInput,
) -> Result<DatasetRecord, CkanError> {
    may_write(user, &input.organization)?;
    let departments: Vec<String> = call
        .state
        .store
        .departments(&call.city.id)
        .await?
        .into_iter()
        .map(|d| d.code)
        .collect();
    let groups = machi_core::opendata::standard::Definitions::shared()
        .map_err(|e| CkanError::validation("groups", e))?
        .groups();
    let checked = input.check(&departments, &groups).map_err(|problems| {
        CkanError::validation_fields(
            problems
                .into_iter()
                .map(|(field, text)| (field.to_string(), text.en))
                .collect(),
        )
    })?;
    match call
        .state
        .store
        .save_dataset(&call.city.id, id, &checked, &user.email)
        .await
    {
        Ok(saved) => Ok(saved),
        Err(StoreError::Conflict(_)) => {
            Err(CkanError::validation("name", "That URL is already in use."))
        }
        Err(error) => Err(error.into()),
    }
}

/// A dataset the user may write, by id or name.
async fn writable(call: &Call<'_>, user: &StaffUser, id: &str) -> Result<DatasetRecord, CkanError> {
    let dataset = call
        .state
        .store
        .dataset(&call.city.id, id)
        .await?
        .filter(|d| d.state == "active")
        .ok_or_else(|| CkanError::not_found("Not found"))?;
    may_write(user, &dataset.input.organization)?;
    Ok(dataset)
}

async fn add_resources(call: &Call<'_>, user: &StaffUser, dataset: &str) -> Result<(), CkanError> {
    let Some(resources) = call.params.0.get("resources").and_then(Value::as_array) else {
        return Ok(());
    };
    for resource in resources.iter().filter_map(Value::as_object) {
        create_resource(call, user, dataset, resource).await?;
    }
    Ok(())
}

async fn create_resource(
    call: &Call<'_>,
    user: &StaffUser,
    dataset: &str,
    given: &Map<String, Value>,
) -> Outcome {
    if given.contains_key("upload") {
        return Err(CkanError::validation(
            "upload",
            "files are uploaded in the staff console, where they are checked; give a url here",
        ));
    }
    let url = text(given, "url").filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let url = url.ok_or_else(|| CkanError::validation("url", "give the file's http(s) URL"))?;
    let format = text(given, "format")
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| format_of(&url, ""));
    let input = ResourceInput {
        name: text(given, "name").unwrap_or_else(|| url.clone()),
        description: text(given, "description").unwrap_or_default(),
        format: format.to_ascii_uppercase().replace("GEOJSON", "GeoJSON"),
        url,
        media_type: text(given, "mimetype").unwrap_or_default(),
        ..ResourceInput::default()
    };
    let added = call
        .state
        .store
        .add_resource(&call.city.id, dataset, &input, &user.email)
        .await?;
    Ok(
        json!({"id": added.id, "package_id": added.dataset_id, "name": added.name,
        "format": added.format, "url": added.url, "position": added.position}),
    )
}

pub(super) async fn package_create(call: &Call<'_>) -> Outcome {
    let user = actor(call).await?;
    let mut input = overlay(&call.params.0, DatasetInput::default());
    if input.organization.is_empty() {
        input.organization = user.department_code.clone().unwrap_or_default();
    }
    let saved = save(call, &user, None, input).await?;
    add_resources(call, &user, &saved.id).await?;
    package_json(call, &saved.id).await
}

pub(super) async fn package_update(call: &Call<'_>) -> Outcome {
    let user = actor(call).await?;
    let existing = writable(call, &user, &call.params.required("id")?).await?;
    // The dataset as given replaces the stored one; its name and organization stay unless given.
    let base = DatasetInput {
        name: existing.input.name.clone(),
        organization: existing.input.organization.clone(),
        ..DatasetInput::default()
    };
    let input = overlay(&call.params.0, base);
    save(call, &user, Some(&existing.id), input).await?;
    package_json(call, &existing.id).await
}

pub(super) async fn package_patch(call: &Call<'_>) -> Outcome {
    let user = actor(call).await?;
    let existing = writable(call, &user, &call.params.required("id")?).await?;
    let input = overlay(&call.params.0, existing.input.clone());
    save(call, &user, Some(&existing.id), input).await?;
    package_json(call, &existing.id).await
}

pub(super) async fn package_delete(call: &Call<'_>) -> Outcome {
    let user = actor(call).await?;
    let existing = writable(call, &user, &call.params.required("id")?).await?;
    call.state
        .store
        .delete_dataset(&call.city.id, &existing.id, &user.email)
        .await?;
    Ok(Value::Null)
}

pub(super) async fn resource_create(call: &Call<'_>) -> Outcome {
    let user = actor(call).await?;
    let existing = writable(call, &user, &call.params.required("package_id")?).await?;
    create_resource(call, &user, &existing.id, &call.params.0).await
}

/// The resource a datastore write is for, if the user may write its dataset.
async fn datastore_resource(call: &Call<'_>, user: &StaffUser) -> Result<String, CkanError> {
    let id = call.params.required("resource_id")?;
    let resource = call
        .state
        .store
        .resource(&call.city.id, &id)
        .await?
        .ok_or_else(|| CkanError::not_found(format!("Resource \"{id}\" was not found.")))?;
    writable(call, user, &resource.dataset_id).await?;
    Ok(id)
}

/// A JSON value as a cell of `field`.
fn cell(field: &Field, value: Option<&Value>, record: usize) -> Result<Cell, CkanError> {
    let bad = || {
        CkanError::validation(
            "records",
            format!(
                "record {record}: '{}' is not of type {}",
                field.id,
                field.kind.as_str()
            ),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(Cell::Null),
        Some(Value::Number(n)) if field.kind == ColumnType::Integer => {
            n.as_i64().map(Cell::Int).ok_or_else(bad)
        }
        Some(Value::Number(n)) if field.kind == ColumnType::Numeric => {
            n.as_f64().map(Cell::Numeric).ok_or_else(bad)
        }
        Some(Value::Number(n)) => typed_cell(field.kind, &n.to_string()).ok_or_else(bad),
        Some(Value::String(s)) => typed_cell(field.kind, s).ok_or_else(bad),
        Some(Value::Bool(b)) => typed_cell(field.kind, &b.to_string()).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// The call's `records` as rows of `fields` (with their `_id`, when given).
fn records(call: &Call<'_>, fields: &[Field]) -> Result<Vec<UpsertRow>, CkanError> {
    let Some(records) = call.params.0.get("records") else {
        return Ok(Vec::new());
    };
    let records = records
        .as_array()
        .ok_or_else(|| CkanError::validation("records", "give a list of records"))?;
    let mut rows = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let record = record.as_object().ok_or_else(|| {
            CkanError::validation("records", format!("record {i} is not an object"))
        })?;
        if let Some(unknown) = record
            .keys()
            .find(|k| *k != "_id" && !fields.iter().any(|f| &f.id == *k))
        {
            return Err(CkanError::validation(
                "records",
                format!("record {i}: there is no field '{unknown}'"),
            ));
        }
        let cells = fields
            .iter()
            .map(|f| cell(f, record.get(&f.id), i))
            .collect::<Result<_, _>>()?;
        let id = record.get("_id").and_then(Value::as_i64);
        rows.push(UpsertRow { id, cells });
    }
    Ok(rows)
}

/// `fields` as CKAN gives them: `[{"id": …, "type": …}]`, text when no type.
fn fields(call: &Call<'_>) -> Result<Option<Vec<Field>>, CkanError> {
    let Some(given) = call.params.0.get("fields").and_then(Value::as_array) else {
        return Ok(None);
    };
    given
        .iter()
        .map(|f| {
            let id = f
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let kind = match f.get("type").and_then(Value::as_str) {
                None => ColumnType::Text,
                Some(name) => ColumnType::parse(name).ok_or_else(|| {
                    CkanError::validation(
                        "fields",
                        format!("unknown type '{name}' of field '{id}'"),
                    )
                })?,
            };
            Ok(Field { id, kind })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub(super) async fn datastore_create(call: &Call<'_>) -> Outcome {
    let user = actor(call).await?;
    let resource_id = datastore_resource(call, &user).await?;
    let store = &call.state.store;
    let resource = match fields(call)? {
        // With fields: the resource's table is made anew with these records.
        Some(fields) => {
            let rows = records(call, &fields)?
                .into_iter()
                .map(|r| r.cells)
                .collect();
            store
                .datastore_replace(&call.city.id, &resource_id, &fields, rows)
                .await?
        }
        // Without: the records are added to the table the resource has.
        None => {
            let existing = store.datastore_info(&call.city.id, &resource_id).await?;
            let rows = records(call, &existing.fields)?;
            store
                .datastore_upsert(&call.city.id, &resource_id, rows, UpsertMethod::Insert)
                .await?
        }
    };
    Ok(json!({"resource_id": resource_id, "fields": resource.fields, "total": resource.row_count}))
}

pub(super) async fn datastore_upsert(call: &Call<'_>) -> Outcome {
    let user = actor(call).await?;
    let resource_id = datastore_resource(call, &user).await?;
    let method = match call.params.text("method").as_deref() {
        None | Some("upsert") | Some("update") => UpsertMethod::Upsert,
        Some("insert") => UpsertMethod::Insert,
        Some(other) => {
            return Err(CkanError::validation(
                "method",
                format!("'{other}' is not insert, upsert or update"),
            ))
        }
    };
    let store = &call.state.store;
    let existing = store.datastore_info(&call.city.id, &resource_id).await?;
    let rows = records(call, &existing.fields)?;
    let resource = store
        .datastore_upsert(&call.city.id, &resource_id, rows, method)
        .await?;
    Ok(
        json!({"resource_id": resource_id, "method": call.params.text("method").unwrap_or_else(|| "upsert".into()), "total": resource.row_count}),
    )
}
