//! The read actions of the catalog: site and status, packages (datasets) with search and
//! facets, organizations (departments), groups (the recommended dataset categories), tags,
//! resources and licences, in the shapes CKAN returns them.

use machi_core::opendata::catalog::{
    canonical_license, license, Group, CKAN_LICENSE_ALIASES, LICENSES,
};
use machi_core::opendata::standard::Definitions;
use machi_core::procedures::DepartmentRef;
use machi_store::opendata::{
    DatasetFilter, DatasetQuery, DatasetRecord, DatasetSort, Facet, ResourceRecord,
};
use machi_store::Tenant;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

use super::{CkanError, Params, CKAN_VERSION};
use crate::AppState;

/// One call of an action.
pub(crate) struct Call<'a> {
    pub state: &'a AppState,
    pub city: &'a Tenant,
    pub base: &'a str,
    pub params: Params,
    /// The API token sent with the call, if any (the write actions need one).
    pub token: Option<String>,
}

type Outcome = Result<Value, CkanError>;

/// Runs a read action; `None` when machi does not know the action.
pub(crate) async fn dispatch(action: &str, call: Call<'_>) -> Option<Outcome> {
    Some(match action {
        "site_read" => Ok(json!(true)),
        "status_show" => Ok(status(&call)),
        "package_list" => package_list(&call).await,
        "package_show" => package_show(&call).await,
        "package_search" => package_search(&call).await,
        "organization_list" => organization_list(&call).await,
        "organization_show" => organization_show(&call).await,
        "group_list" => group_list(&call).await,
        "group_show" => group_show(&call).await,
        "tag_list" => tag_list(&call).await,
        "resource_show" => resource_show(&call).await,
        "license_list" => Ok(licenses()),
        "datastore_search" => super::datastore::search(&call).await,
        "datastore_info" => super::datastore::info(&call).await,
        "package_create" => super::write::package_create(&call).await,
        "package_update" => super::write::package_update(&call).await,
        "package_patch" => super::write::package_patch(&call).await,
        "package_delete" => super::write::package_delete(&call).await,
        "resource_create" => super::write::resource_create(&call).await,
        "datastore_create" => super::datastore_write::datastore_create(&call).await,
        "datastore_upsert" => super::datastore_write::datastore_upsert(&call).await,
        "datastore_delete" => super::datastore_write::datastore_delete(&call).await,
        "datastore_records_delete" => super::datastore_write::datastore_records_delete(&call).await,
        _ => return None,
    })
}

fn status(call: &Call<'_>) -> Value {
    json!({
        "ckan_version": CKAN_VERSION,
        "site_title": format!("{} オープンデータ", call.city.name_ja),
        "site_description": "machi: 自治体のオープンデータカタログ (CKAN Action API v3 互換)",
        "site_url": call.base,
        "locale_default": "ja",
        "extensions": ["datastore"],
    })
}

/// CKAN's timestamps have no zone and six decimals (`2024-04-01T09:00:00.000000`).
/// CKAN's times: UTC without the `Z` (`2026-12-05T09:00:00.000000`).
fn ckan_time(time: machi_store::Time) -> String {
    time.stored().trim_end_matches('Z').to_string()
}

/// `license_list`: machi's licences and a default CKAN's ids for the same ones, in CKAN's
/// shape (every value a string, as CKAN's `License.copy()` gives them).
fn licenses() -> Value {
    Value::Array(
        LICENSES
            .iter()
            .chain(CKAN_LICENSE_ALIASES.iter())
            .map(|l| {
                json!({"id": l.id, "title": l.title, "url": l.url,
                    "od_conformance": if l.open { "approved" } else { "not reviewed" },
                    "osd_conformance": "not reviewed",
                    "domain_content": "False", "domain_data": "True", "domain_software": "False",
                    "family": "", "is_generic": "False", "maintainer": "",
                    "status": "active"})
            })
            .collect(),
    )
}

fn groups() -> Result<Vec<Group>, CkanError> {
    Ok(Definitions::shared()
        .map_err(|e| CkanError::validation("groups", e))?
        .groups())
}

async fn departments(call: &Call<'_>) -> Result<Vec<DepartmentRef>, CkanError> {
    Ok(call.state.store.departments(&call.city.id).await?)
}

fn organization_json(department: &DepartmentRef, count: Option<i64>) -> Value {
    let mut org = json!({
        "id": department.code, "name": department.code, "title": department.ja,
        "display_name": department.ja, "description": department.en,
        "type": "organization", "is_organization": true, "state": "active",
        "approval_status": "approved", "image_url": "", "image_display_url": "",
    });
    if let (Some(count), Some(object)) = (count, org.as_object_mut()) {
        object.insert("package_count".into(), json!(count));
    }
    org
}

fn group_json(group: &Group, count: Option<i64>) -> Value {
    let mut value = json!({
        "id": group.name, "name": group.name, "title": group.title,
        "display_name": group.title,
        "description": format!("推奨データセット {} {}", group.number, group.title),
        "type": "group", "is_organization": false, "state": "active",
        "approval_status": "approved", "image_url": "", "image_display_url": "",
    });
    if let (Some(count), Some(object)) = (count, value.as_object_mut()) {
        object.insert("package_count".into(), json!(count));
    }
    value
}

fn resource_json(
    call: &Call<'_>,
    resource: &ResourceRecord,
    license_id: &str,
    in_datastore: &HashSet<String>,
) -> Value {
    let url_type = if resource.file_sha256.is_some() {
        json!("upload")
    } else if resource.is_datastore_only() {
        json!("datastore")
    } else {
        Value::Null
    };
    json!({
        "id": resource.id, "package_id": resource.dataset_id, "position": resource.position,
        "name": resource.name, "description": resource.description,
        "format": resource.format, "url": resource.link(call.base),
        "url_type": url_type,
        "mimetype": resource.media_type, "size": resource.size_bytes,
        "created": ckan_time(resource.created_at),
        "last_modified": ckan_time(resource.modified_at),
        "metadata_modified": ckan_time(resource.modified_at),
        "state": "active", "datastore_active": in_datastore.contains(&resource.id),
        "conforms_to": resource.standard,
        // As ckanext-qa names it: the 5-star openness of the file.
        "openness_score": machi_core::opendata::catalog::openness_stars(&resource.format, license_id),
    })
}

/// What a dataset's JSON refers to besides the dataset: the city's departments, the groups
/// and which resources have datastore rows (each read once per call).
pub(crate) struct Context {
    departments: Vec<DepartmentRef>,
    groups: Vec<Group>,
    in_datastore: HashSet<String>,
}

async fn context(call: &Call<'_>) -> Result<Context, CkanError> {
    Ok(Context {
        departments: departments(call).await?,
        groups: groups()?,
        in_datastore: call
            .state
            .store
            .datastore_resource_ids(&call.city.id)
            .await
            .map_err(CkanError::from)?,
    })
}

fn dataset_json(call: &Call<'_>, dataset: &DatasetRecord, context: &Context) -> Value {
    let (departments, groups) = (&context.departments, &context.groups);
    let d = &dataset.input;
    let licence = license(&d.license_id);
    let organization = departments
        .iter()
        .find(|dep| dep.code == d.organization)
        .map(|dep| organization_json(dep, None))
        .unwrap_or(Value::Null);
    let tags: Vec<Value> = d
        .tags
        .iter()
        .map(|t| json!({"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": null}))
        .collect();
    let group_list: Vec<Value> = d
        .groups
        .iter()
        .filter_map(|name| groups.iter().find(|g| g.name == *name))
        .map(|g| group_json(g, None))
        .collect();
    let resources: Vec<Value> = dataset
        .resources
        .iter()
        .map(|r| resource_json(call, r, &d.license_id, &context.in_datastore))
        .collect();
    let extras: Vec<Value> = [
        ("title_en", &d.title_en),
        ("notes_en", &d.notes_en),
        ("frequency", &d.frequency),
        ("spatial", &d.spatial),
        ("temporal_start", &d.temporal_start),
        ("temporal_end", &d.temporal_end),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| json!({"key": k, "value": v}))
    .collect();
    let mut value = json!({
        "id": dataset.id, "name": d.name, "title": d.title_ja, "notes": d.notes_ja,
        "type": "dataset", "state": dataset.state, "private": false,
        "license_id": d.license_id,
        "license_title": licence.map(|l| l.title),
        "license_url": licence.map(|l| l.url),
        "isopen": licence.is_some_and(|l| l.open),
        "owner_org": d.organization, "organization": organization,
        "author": null, "author_email": null,
        "maintainer": d.contact_name, "maintainer_email": d.contact_email,
        "url": format!("{}/opendata/datasets/{}", call.base, d.name),
        "version": null,
        "metadata_created": ckan_time(dataset.created_at),
        "metadata_modified": ckan_time(dataset.modified_at),
        "num_tags": tags.len(), "tags": tags,
        "groups": group_list,
        "num_resources": resources.len(), "resources": resources,
        "extras": extras,
    });
    if let Some(object) = value.as_object_mut() {
        for (key, field) in [
            ("title_en", &d.title_en),
            ("notes_en", &d.notes_en),
            ("frequency", &d.frequency),
            ("spatial", &d.spatial),
            ("temporal_start", &d.temporal_start),
            ("temporal_end", &d.temporal_end),
        ] {
            object.insert(key.into(), json!(field));
        }
    }
    value
}

async fn package_list(call: &Call<'_>) -> Outcome {
    let limit = call.params.int("limit", 1_000_000, 0, 1_000_000)?;
    let offset = call.params.int("offset", 0, 0, i64::MAX)?;
    let names = call
        .state
        .store
        .dataset_names(&call.city.id, limit, offset)
        .await?;
    Ok(json!(names))
}

async fn package_show(call: &Call<'_>) -> Outcome {
    package_json(call, &call.params.required("id")?).await
}

/// A published dataset as `package_show` gives it.
pub(crate) async fn package_json(call: &Call<'_>, id: &str) -> Outcome {
    let dataset = call
        .state
        .store
        .dataset(&call.city.id, id)
        .await?
        .filter(|d| d.state == "active")
        .ok_or_else(|| CkanError::not_found("Not found"))?;
    Ok(dataset_json(call, &dataset, &context(call).await?))
}

/// Reads `fq` as CKAN clients write it: `field:value` clauses joined by spaces or `AND`,
/// values optionally quoted (`tags:"防災 情報"`).
fn read_fq(fq: &str) -> Result<Vec<DatasetFilter>, CkanError> {
    let mut filters = Vec::new();
    let mut rest = fq.trim();
    while !rest.is_empty() {
        let (field, after) = rest
            .split_once(':')
            .ok_or_else(|| CkanError::validation("fq", format!("cannot read '{rest}'")))?;
        let field = field.trim().trim_start_matches('+');
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted
                    .find('"')
                    .ok_or_else(|| CkanError::validation("fq", "unclosed quote"))?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        let value = value.to_string();
        filters.push(match field {
            "tags" => DatasetFilter::Tag(value),
            "groups" => DatasetFilter::Group(value),
            "organization" | "owner_org" => DatasetFilter::Organization(value),
            "res_format" => DatasetFilter::Format(value),
            "license_id" => DatasetFilter::License(canonical_license(&value).to_string()),
            other => {
                return Err(CkanError::validation(
                    "fq",
                    format!("machi filters by tags, groups, organization, res_format and license_id, not '{other}'"),
                ))
            }
        });
        rest = remaining.trim_start();
        rest = rest.strip_prefix("AND ").unwrap_or(rest).trim_start();
    }
    Ok(filters)
}

fn read_sort(sort: Option<String>) -> Result<DatasetSort, CkanError> {
    let sort = sort.unwrap_or_default();
    let normalised: Vec<&str> = sort.split_whitespace().collect();
    Ok(match normalised.as_slice() {
        [] | ["score", "desc", ..] | ["metadata_modified", "desc"] => DatasetSort::ModifiedDesc,
        ["metadata_modified", "asc"] => DatasetSort::ModifiedAsc,
        ["name", "asc"] | ["name"] => DatasetSort::NameAsc,
        ["name", "desc"] => DatasetSort::NameDesc,
        ["title_string", "asc"] | ["title", "asc"] => DatasetSort::TitleAsc,
        ["title_string", "desc"] | ["title", "desc"] => DatasetSort::TitleDesc,
        _ => {
            return Err(CkanError::validation(
                "sort",
                format!("cannot sort by '{sort}' (use metadata_modified, name or title_string with asc or desc)"),
            ))
        }
    })
}

fn read_facet(name: &str) -> Result<Facet, CkanError> {
    Ok(match name {
        "tags" => Facet::Tags,
        "groups" => Facet::Groups,
        "organization" => Facet::Organization,
        "res_format" => Facet::Format,
        "license_id" => Facet::License,
        other => {
            return Err(CkanError::validation(
                "facet.field",
                format!("no facet '{other}'"),
            ))
        }
    })
}

fn facet_name(facet: Facet) -> &'static str {
    match facet {
        Facet::Tags => "tags",
        Facet::Groups => "groups",
        Facet::Organization => "organization",
        Facet::Format => "res_format",
        Facet::License => "license_id",
    }
}

/// The search package_search asks for, from its parameters.
pub(super) fn dataset_query(p: &Params) -> Result<DatasetQuery, CkanError> {
    let q = p.text("q").unwrap_or_default();
    // `*:*` is Solr's "everything", which clients send for an empty search.
    let q = if q.trim() == "*:*" { String::new() } else { q };
    Ok(DatasetQuery {
        q,
        filters: read_fq(&p.text("fq").unwrap_or_default())?,
        sort: read_sort(p.text("sort"))?,
        rows: p.int("rows", 10, 0, 1_000)?,
        start: p.int("start", 0, 0, i64::MAX)?,
        facets: p
            .list("facet.field")?
            .iter()
            .map(|f| read_facet(f))
            .collect::<Result<_, _>>()?,
        // -1 is CKAN's "no limit".
        facet_limit: match p.int("facet.limit", 50, -1, 10_000)? {
            -1 => 10_000,
            limit => limit,
        },
    })
}

async fn package_search(call: &Call<'_>) -> Outcome {
    let p = &call.params;
    let query = dataset_query(p)?;
    let page = call
        .state
        .store
        .search_datasets(&call.city.id, &query)
        .await?;
    let context = context(call).await?;
    let (departments, groups) = (&context.departments, &context.groups);
    let results: Vec<Value> = page
        .datasets
        .iter()
        .map(|d| dataset_json(call, d, &context))
        .collect();
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for (facet, counts) in &page.facets {
        let name = facet_name(*facet);
        facets.insert(
            name.into(),
            Value::Object(counts.iter().map(|(v, n)| (v.clone(), json!(n))).collect()),
        );
        let items: Vec<Value> = counts
            .iter()
            .map(|(value, count)| {
                let display = match facet {
                    Facet::Organization => departments
                        .iter()
                        .find(|d| d.code == *value)
                        .map(|d| d.ja.clone()),
                    Facet::Groups => groups
                        .iter()
                        .find(|g| g.name == *value)
                        .map(|g| g.title.clone()),
                    _ => None,
                }
                .unwrap_or_else(|| value.clone());
                json!({"name": value, "display_name": display, "count": count})
            })
            .collect();
        search_facets.insert(name.into(), json!({"title": name, "items": items}));
    }
    Ok(json!({
        "count": page.count, "results": results, "sort": p.text("sort").unwrap_or_else(|| "score desc, metadata_modified desc".into()),
        "facets": facets, "search_facets": search_facets,
    }))
}

/// How many published datasets each organization or group has.
async fn package_counts(call: &Call<'_>, facet: Facet) -> Result<HashMap<String, i64>, CkanError> {
    let counts = call.state.store.facet_counts(&call.city.id, facet).await?;
    Ok(counts.into_iter().collect())
}

/// CKAN's `*_list`: names, or whole objects with their package counts (`all_fields`).
fn listing<T>(
    call: &Call<'_>,
    items: &[T],
    counts: &HashMap<String, i64>,
    name: impl Fn(&T) -> &str,
    object: impl Fn(&T, Option<i64>) -> Value,
) -> Outcome {
    let all_fields = call.params.flag("all_fields", false)?;
    Ok(Value::Array(
        items
            .iter()
            .map(|item| {
                if all_fields {
                    object(item, Some(counts.get(name(item)).copied().unwrap_or(0)))
                } else {
                    json!(name(item))
                }
            })
            .collect(),
    ))
}

async fn organization_list(call: &Call<'_>) -> Outcome {
    let counts = package_counts(call, Facet::Organization).await?;
    let departments = departments(call).await?;
    listing(call, &departments, &counts, |d| &d.code, organization_json)
}

async fn organization_show(call: &Call<'_>) -> Outcome {
    let id = call.params.required("id")?;
    let departments = departments(call).await?;
    let department = departments
        .iter()
        .find(|d| d.code == id)
        .ok_or_else(|| CkanError::not_found("Organization not found"))?;
    let count = package_counts(call, Facet::Organization)
        .await?
        .get(&id)
        .copied();
    Ok(organization_json(department, Some(count.unwrap_or(0))))
}

async fn group_list(call: &Call<'_>) -> Outcome {
    let counts = package_counts(call, Facet::Groups).await?;
    listing(call, &groups()?, &counts, |g| &g.name, group_json)
}

async fn group_show(call: &Call<'_>) -> Outcome {
    let id = call.params.required("id")?;
    let groups = groups()?;
    let group = groups
        .iter()
        .find(|g| g.name == id)
        .ok_or_else(|| CkanError::not_found("Group not found"))?;
    let count = package_counts(call, Facet::Groups).await?.get(&id).copied();
    Ok(group_json(group, Some(count.unwrap_or(0))))
}

async fn tag_list(call: &Call<'_>) -> Outcome {
    let query = call.params.text("query").unwrap_or_default();
    let counts = call
        .state
        .store
        .facet_counts(&call.city.id, Facet::Tags)
        .await?;
    let mut tags: Vec<&str> = counts
        .iter()
        .map(|(t, _)| t.as_str())
        .filter(|t| t.contains(query.as_str()))
        .collect();
    tags.sort_unstable();
    Ok(json!(tags))
}

async fn resource_show(call: &Call<'_>) -> Outcome {
    let id = call.params.required("id")?;
    let resource = call
        .state
        .store
        .resource(&call.city.id, &id)
        .await?
        .ok_or_else(|| CkanError::not_found("Resource was not found."))?;
    let dataset = call
        .state
        .store
        .dataset(&call.city.id, &resource.dataset_id)
        .await?
        .filter(|d| d.state == "active")
        .ok_or_else(|| CkanError::not_found("Resource was not found."))?;
    let in_datastore = call
        .state
        .store
        .datastore_resource_ids(&call.city.id)
        .await
        .map_err(CkanError::from)?;
    let mut value = resource_json(call, &resource, &dataset.input.license_id, &in_datastore);
    if let Some(object) = value.as_object_mut() {
        object.insert("package_name".into(), json!(dataset.input.name));
    }
    Ok(value)
}
