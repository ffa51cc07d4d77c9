//! Open data in the staff console (`/staff/opendata`): a department lists, creates and edits
//! its datasets (administrators: every department's); every change is audited in the store.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::notices::Problem;
use machi_core::opendata::catalog::{DatasetInput, Group, LICENSES};
use machi_store::opendata::{DatasetFilter, DatasetQuery, DatasetRecord, DatasetSort};
use machi_store::StoreError;

use super::definitions;
use crate::kit::{render, see_other, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// Most datasets the staff list shows.
const LIST_SIZE: i64 = 1_000;

/// The department whose datasets this person works on (`None`: every department).
pub(super) fn scope(signed: &Signed) -> Result<Option<String>, PageError> {
    signed.department_scope(signed.role().publishes_open_data())
}

/// A dataset this person may change, or 404/403.
pub(super) async fn editable(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<DatasetRecord, PageError> {
    let own = scope(signed)?;
    let dataset = state
        .store
        .dataset(&signed.city.id, id)
        .await?
        .filter(|d| d.state == "active")
        .ok_or_else(|| {
            PageError::from(
                ApiError::not_found("no such dataset").with_ja("このデータセットはありません。"),
            )
        })?;
    if let Some(own) = own {
        signed.require(dataset.input.organization == own)?;
    }
    Ok(dataset)
}

#[derive(Template)]
#[template(path = "staff_opendata.html")]
struct ListPage {
    chrome: Chrome,
    datasets: Vec<DatasetRecord>,
}

impl ListPage {
    /// A stored time as staff and residents read it: JST with the 和暦 date.
    fn when(&self, time: &machi_store::Time) -> String {
        crate::kit::jst_text(*time)
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let own = scope(&signed)?;
    let query = DatasetQuery {
        filters: own.into_iter().map(DatasetFilter::Organization).collect(),
        sort: DatasetSort::NameAsc,
        rows: LIST_SIZE,
        ..DatasetQuery::default()
    };
    let page = state.store.search_datasets(&signed.city.id, &query).await?;
    Ok(render(&ListPage {
        chrome: signed.chrome("/staff/opendata"),
        datasets: page.datasets,
    }))
}

#[derive(Template)]
#[template(path = "staff_dataset_form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    input: DatasetInput,
    tags: String,
    departments: Vec<(String, String)>,
    licenses: Vec<(&'static str, &'static str)>,
    groups: Vec<(Group, bool)>,
    errors: Vec<(String, String)>,
    dataset: Option<DatasetRecord>,
    standards: Vec<(String, String)>,
}

impl FormPage {
    /// A stored time as staff and residents read it: JST with the 和暦 date.
    fn when(&self, time: &machi_store::Time) -> String {
        crate::kit::jst_text(*time)
    }
}

async fn form_page(
    state: &AppState,
    signed: &Signed,
    input: DatasetInput,
    errors: Vec<Problem>,
    dataset: Option<DatasetRecord>,
) -> Result<FormPage, PageError> {
    let own = scope(signed)?;
    let definitions = definitions()?;
    let departments = state
        .store
        .departments(&signed.city.id)
        .await?
        .into_iter()
        .filter(|d| own.as_deref().is_none_or(|o| o == d.code))
        .map(|d| (d.code, d.ja))
        .collect();
    let ui = signed.ui;
    Ok(FormPage {
        chrome: signed.chrome("/staff/opendata"),
        action: dataset.as_ref().map_or("/staff/opendata/new".into(), |d| {
            format!("/staff/opendata/{}", d.id)
        }),
        tags: input.tags.join("、"),
        departments,
        licenses: LICENSES.iter().map(|l| (l.id, l.title)).collect(),
        groups: definitions
            .groups()
            .into_iter()
            .map(|g| {
                let chosen = input.groups.contains(&g.name);
                (g, chosen)
            })
            .collect(),
        errors: errors
            .into_iter()
            .map(|(field, text)| (field.to_string(), ui.l(&text).to_string()))
            .collect(),
        standards: definitions
            .datasets
            .iter()
            .map(|d| (d.id.clone(), format!("{}（{}）", d.name_ja, d.edition)))
            .collect(),
        input,
        dataset,
    })
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let input = DatasetInput {
        organization: scope(&signed)?.unwrap_or_default(),
        license_id: machi_core::opendata::catalog::DEFAULT_LICENSE.into(),
        ..DatasetInput::default()
    };
    Ok(render(
        &form_page(&state, &signed, input, Vec::new(), None).await?,
    ))
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let dataset = editable(&state, &signed, &id).await?;
    let input = dataset.input.clone();
    Ok(render(
        &form_page(&state, &signed, input, Vec::new(), Some(dataset)).await?,
    ))
}

/// Reads the form: tags separated by 、 , or spaces-free commas; groups as checkboxes.
fn read_form(pairs: &[(String, String)]) -> DatasetInput {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // Typed as residents' forms are: full-width letters and digits, dates in 和暦 or any width
    // (kept as ISO dates, as DCAT and CKAN clients read them). The CKAN API takes names as
    // CKAN does.
    let date = |name: &str| {
        let typed = field(name);
        machi_core::wareki::parse_date(&typed)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or(typed)
    };
    DatasetInput {
        name: machi_core::text::fold_width(field("name").trim()),
        title_ja: field("title_ja"),
        title_en: field("title_en"),
        notes_ja: field("notes_ja"),
        notes_en: field("notes_en"),
        organization: field("organization"),
        license_id: field("license_id"),
        frequency: field("frequency"),
        spatial: field("spatial"),
        temporal_start: date("temporal_start"),
        temporal_end: date("temporal_end"),
        contact_name: field("contact_name"),
        contact_email: field("contact_email"),
        tags: field("tags")
            .split(['、', ',', '，'])
            .map(str::to_string)
            .collect(),
        groups: pairs
            .iter()
            .filter(|(k, _)| k == "groups")
            .map(|(_, v)| v.clone())
            .collect(),
    }
}

async fn save(
    state: &AppState,
    signed: &Signed,
    existing: Option<DatasetRecord>,
    pairs: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let own = scope(signed)?;
    let mut input = read_form(&pairs);
    if let Some(own) = &own {
        input.organization = own.clone();
    }
    let departments: Vec<String> = state
        .store
        .departments(&signed.city.id)
        .await?
        .into_iter()
        .map(|d| d.code)
        .collect();
    let groups = definitions()?.groups();
    let checked = match input.clone().check(&departments, &groups) {
        Ok(checked) => checked,
        Err(problems) => return shown_again(state, signed, input, problems, existing).await,
    };
    let id = existing.as_ref().map(|d| d.id.as_str());
    match state
        .store
        .save_dataset(&signed.city.id, id, &checked, signed.email())
        .await
    {
        Ok(saved) => Ok(see_other(&format!("/staff/opendata/{}", saved.id))),
        Err(StoreError::Conflict(_)) => {
            let taken = (
                "name",
                machi_core::procedures::Localized::new(
                    format!("名前「{}」は別のデータセットが使っています", checked.name),
                    format!("the name '{}' is taken by another dataset", checked.name),
                ),
            );
            shown_again(state, signed, input, vec![taken], existing).await
        }
        Err(error) => Err(PageError::from(error)),
    }
}

async fn shown_again(
    state: &AppState,
    signed: &Signed,
    input: DatasetInput,
    problems: Vec<Problem>,
    existing: Option<DatasetRecord>,
) -> Result<Response, PageError> {
    let page = form_page(state, signed, input, problems, existing).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

pub(super) async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    save(&state, &signed, None, pairs).await
}

pub(super) async fn update(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let existing = editable(&state, &signed, &id).await?;
    save(&state, &signed, Some(existing), pairs).await
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}
