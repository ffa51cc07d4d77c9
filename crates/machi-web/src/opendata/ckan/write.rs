//! The write actions, for an API token (`Authorization: <token>` or `X-CKAN-API-Key`) of a
//! member of staff who publishes open data: `package_create`, `package_update` (the dataset as
//! given), `package_patch` (only the keys given), `package_delete`, `resource_create` (a file
//! by URL; uploads go through the staff console); the datastore's writes are in
//! `datastore_write`.
//! A department writes only its own datasets; administrators write every department's.

use machi_core::opendata::catalog::{format_of, DatasetInput};
use machi_store::opendata::{DatasetRecord, ResourceInput};
use machi_store::users::StaffUser;
use machi_store::StoreError;
use serde_json::{json, Map, Value};

use super::package::{package_json, Call};
use super::CkanError;

type Outcome = Result<Value, CkanError>;

/// The member of staff the call's token acts for, if they publish open data.
pub(super) async fn actor(call: &Call<'_>) -> Result<StaffUser, CkanError> {
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
pub(super) async fn writable(
    call: &Call<'_>,
    user: &StaffUser,
    id: &str,
) -> Result<DatasetRecord, CkanError> {
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
