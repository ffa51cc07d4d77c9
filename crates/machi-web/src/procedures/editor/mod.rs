//! 手続エディタ: department staff create and edit procedures and their forms in the browser,
//! preview them as residents will see them, and (managers) publish or take them offline.
//! Work happens on a draft; publishing turns it into a new form version, so applications
//! already made keep the version they were made on.

mod page;
mod questions;

use page::edit;
use questions::{add_field, edit_question, move_field, remove_field, update_question};

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Form;
use axum::Router;
use machi_core::procedures::{
    Channel, DepartmentRef, FormDefinition, LifeEvent, Localized, ProcedureDefinition,
};
use machi_store::ProcedureRecord;
use serde::Deserialize;

use crate::kit::{render, see_other, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// The editor's pages, behind the staff guard.
pub(super) fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/procedures", get(list).post(create))
        .route("/staff/procedures/new", get(new_form))
        .route("/staff/procedures/{id}/edit", get(edit).post(save_basics))
        .route("/staff/procedures/{id}/fields", post(add_field))
        .route(
            "/staff/procedures/{id}/fields/{name}/edit",
            get(edit_question).post(update_question),
        )
        .route(
            "/staff/procedures/{id}/fields/{name}/move",
            post(move_field),
        )
        .route(
            "/staff/procedures/{id}/fields/{name}/remove",
            post(remove_field),
        )
        .route("/staff/procedures/{id}/preview", get(preview))
        .route("/staff/procedures/{id}/publish", post(publish))
        .route("/staff/procedures/{id}/unpublish", post(unpublish))
        .route("/staff/procedures/{id}/discard", post(discard))
}

struct EntryRow {
    id: String,
    name: String,
    state: String,
    form_version: String,
    draft_by: String,
}

#[derive(Template)]
#[template(path = "staff_procedures.html")]
struct ListPage {
    chrome: Chrome,
    entries: Vec<EntryRow>,
}

/// The department whose procedures this person edits (`None`: an administrator, every one).
fn editable_department(signed: &Signed) -> Result<Option<String>, PageError> {
    signed.department_scope(signed.role().edits_procedures())
}

fn require_editable(signed: &Signed, definition: &ProcedureDefinition) -> Result<(), PageError> {
    if editable_department(signed)?.is_some() {
        signed.require_department(&definition.department.code)?;
    }
    Ok(())
}

async fn list(State(state): State<AppState>, signed: Signed) -> Result<Response, PageError> {
    let department = editable_department(&signed)?;
    let entries = state
        .store
        .editor_entries(&signed.city.id, department.as_deref())
        .await?;
    let ui = signed.ui;
    Ok(render(&ListPage {
        chrome: signed.chrome("/staff/procedures"),
        entries: entries
            .into_iter()
            .map(|e| EntryRow {
                state: match e.published {
                    Some(true) => ui.t("公開中", "Published"),
                    Some(false) => ui.t("非公開", "Not published"),
                    None => ui.t("未公開（新規）", "New, not yet published"),
                }
                .to_string(),
                form_version: e.form_version.map(|v| v.to_string()).unwrap_or_default(),
                draft_by: e.draft_by.unwrap_or_default(),
                id: e.id,
                name: e.name_ja,
            })
            .collect(),
    }))
}

/// The definition being edited: the draft, or else a copy of the live procedure and form.
async fn working_copy(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<(ProcedureDefinition, Option<ProcedureRecord>), PageError> {
    let live = state.store.procedure(&signed.city.id, id).await?;
    let definition = match state.store.draft(&signed.city.id, id).await? {
        Some(draft) => draft,
        None => {
            let record = live.clone().ok_or_else(|| {
                PageError::from(ApiError::not_found(
                    signed
                        .ui
                        .t("その手続はありません。", "There is no such procedure."),
                ))
            })?;
            let mut definition = record.definition.clone();
            definition.form = match record.form_version {
                Some(version) => state.store.form(&signed.city.id, id, version).await?,
                None => None,
            };
            definition
        }
    };
    require_editable(signed, &definition)?;
    Ok((definition, live))
}

async fn save(
    state: &AppState,
    signed: &Signed,
    definition: &ProcedureDefinition,
    change: &str,
) -> Result<Response, PageError> {
    state
        .store
        .save_draft(&signed.city.id, definition, signed.email(), change)
        .await?;
    Ok(see_other(&format!(
        "/staff/procedures/{}/edit",
        definition.id
    )))
}

fn bad(detail: impl Into<String>) -> PageError {
    PageError::from(ApiError::bad_request(detail))
}

#[derive(Template)]
#[template(path = "staff_procedure_new.html")]
struct NewPage {
    chrome: Chrome,
    departments: Vec<(String, String)>,
    /// (input id, message) for the error summary, and what was typed.
    errors: Vec<(String, String)>,
    typed: NewForm,
}

async fn new_form(State(state): State<AppState>, signed: Signed) -> Result<Response, PageError> {
    new_page(&state, &signed, NewForm::default(), Vec::new()).await
}

/// The new-procedure page; with errors, 422 and what was typed.
async fn new_page(
    state: &AppState,
    signed: &Signed,
    typed: NewForm,
    errors: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let department = editable_department(signed)?;
    let departments = state
        .store
        .departments(&signed.city.id)
        .await?
        .into_iter()
        .filter(|d| department.as_deref().is_none_or(|own| own == d.code))
        .map(|d| (d.code.clone(), signed.ui.name(&d.ja, &d.en).to_string()))
        .collect();
    let status = crate::kit::form_status(&errors);
    let page = NewPage {
        chrome: signed.chrome("/staff/procedures/new"),
        departments,
        errors,
        typed,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct NewForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name_ja: String,
    #[serde(default)]
    kana: String,
    #[serde(default)]
    department: String,
}

async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<NewForm>,
) -> Result<Response, PageError> {
    let own = editable_department(&signed)?;
    let id = form.id.trim().to_string();
    let ui = signed.ui;
    let refuse = |input: &str, ja: String, en: String| {
        vec![(input.to_string(), if ui.en { en } else { ja })]
    };
    let mut errors = Vec::new();
    if form.name_ja.trim().is_empty() {
        errors.extend(refuse(
            "name_ja",
            "手続名を入力してください。".into(),
            "Enter the name.".into(),
        ));
    }
    if !machi_core::procedures::is_valid_id(&id) {
        errors.extend(refuse(
            "id",
            format!("手続ID「{id}」は使えません。半角英小文字・数字・ハイフンで80文字以内にしてください（例: inu-touroku）。"),
            format!("The id '{id}' cannot be used: 1-80 lowercase letters, digits and hyphens (e.g. inu-touroku)."),
        ));
    }
    if !errors.is_empty() {
        return new_page(&state, &signed, form, errors).await;
    }
    if state.store.procedure(&signed.city.id, &id).await?.is_some()
        || state.store.draft(&signed.city.id, &id).await?.is_some()
    {
        let errors = refuse(
            "id",
            format!("手続ID「{id}」はすでに使われています。別のIDにしてください。"),
            format!("The id '{id}' is taken: choose another."),
        );
        return new_page(&state, &signed, form, errors).await;
    }
    let code = own.unwrap_or_else(|| form.department.trim().to_string());
    let department = state
        .store
        .departments(&signed.city.id)
        .await?
        .into_iter()
        .find(|d| d.code == code);
    let Some(department) = department else {
        let errors = refuse(
            "department",
            "担当課を選んでください。".into(),
            "Choose a department.".into(),
        );
        return new_page(&state, &signed, form, errors).await;
    };
    let definition = ProcedureDefinition {
        id,
        name: Localized::new(
            machi_core::text::strip_control_chars(form.name_ja.trim()),
            "",
        ),
        kana: machi_core::text::to_katakana_field(&form.kana).replace('\u{3000}', ""),
        department: DepartmentRef {
            code: department.code,
            ja: department.ja,
            en: department.en,
        },
        legal_basis: String::new(),
        life_events: Vec::new(),
        channel: Channel::Online,
        fee_yen: None,
        fee_per: None,
        fee_exemptions: Vec::new(),
        refusal: None,
        documents: Vec::new(),
        processing_days: None,
        time_limit: None,
        yearly_volume: None,
        online_share: None,
        inventory: Default::default(),
        plain_title: None,
        summary: Localized::default(),
        keywords: Vec::new(),
        form: Some(FormDefinition::empty()),
        decision: None,
        workflow: None,
        booking: None,
    };
    if let Err(problems) = check_basics(&definition) {
        let errors = problems
            .iter()
            .map(|problem| (basics_input(problem).to_string(), problem.clone()))
            .collect();
        return new_page(&state, &signed, form, errors).await;
    }
    save(&state, &signed, &definition, "create").await
}

/// The new-procedure input a problem of [`ProcedureDefinition::check`] is about (its messages
/// start with the field they name).
fn basics_input(problem: &str) -> &'static str {
    if problem.starts_with("id") {
        "id"
    } else if problem.starts_with("name") {
        "name_ja"
    } else if problem.starts_with("kana") {
        "kana"
    } else {
        "department"
    }
}

/// The checks that apply while editing (a form with no questions yet is allowed until publishing).
fn check_basics(definition: &ProcedureDefinition) -> Result<(), Vec<String>> {
    let without_form = ProcedureDefinition {
        form: None,
        ..definition.clone()
    };
    without_form.check()
}

#[derive(Deserialize)]
pub(super) struct BasicsForm {
    name_ja: String,
    #[serde(default)]
    name_en: String,
    kana: String,
    #[serde(default)]
    summary_ja: String,
    #[serde(default)]
    summary_en: String,
    channel: String,
    #[serde(default)]
    fee_yen: String,
    #[serde(default)]
    processing_days: String,
    #[serde(default)]
    keywords: String,
}

fn optional_number(signed: &Signed, text: &str, what: &str) -> Result<Option<i64>, PageError> {
    let folded = machi_core::text::fold_width(text.trim()).replace(',', "");
    if folded.is_empty() {
        return Ok(None);
    }
    folded
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            bad(format!(
                "{what}: {}",
                signed.ui.t(
                    "0以上の整数で入力してください。",
                    "enter a whole number, 0 or more."
                )
            ))
        })
}

async fn save_basics(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (mut definition, _) = working_copy(&state, &signed, &id).await?;
    let form: BasicsForm = serde_urlencoded::from_str(
        &serde_urlencoded::to_string(
            pairs
                .iter()
                .filter(|(k, _)| k != "life_event")
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
    )
    .map_err(|e| bad(e.to_string()))?;
    let clean = machi_core::text::clean_text;
    definition.name = Localized::new(clean(&form.name_ja), clean(&form.name_en));
    definition.kana = machi_core::text::to_katakana_field(&form.kana).replace('\u{3000}', "");
    definition.summary = Localized::new(form.summary_ja.trim(), form.summary_en.trim());
    definition.channel = Channel::parse(&form.channel).ok_or_else(|| {
        PageError::from(
            ApiError::bad_request(format!("unknown channel '{}'", form.channel))
                .with_ja("申請方法を選んでください。"),
        )
    })?;
    definition.fee_yen = optional_number(&signed, &form.fee_yen, "fee_yen")?;
    definition.processing_days =
        optional_number(&signed, &form.processing_days, "processing_days")?;
    definition.keywords = form
        .keywords
        .split(['、', ',', '，'])
        .map(clean)
        .filter(|k| !k.is_empty())
        .collect();
    definition.life_events = pairs
        .iter()
        .filter(|(k, _)| k == "life_event")
        .filter_map(|(_, v)| LifeEvent::parse(v))
        .collect();
    if let Err(problems) = check_basics(&definition) {
        return Err(bad(problems.join(" / ")));
    }
    save(&state, &signed, &definition, "basics").await
}

/// The draft's form exactly as residents will see it.
async fn preview(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (definition, _) = working_copy(&state, &signed, &id).await?;
    let form = definition
        .form
        .clone()
        .unwrap_or_else(FormDefinition::empty);
    let compiled = form.compile().map_err(|e| bad(e.to_string()))?;
    let record = ProcedureRecord {
        definition,
        form_version: Some(form.version),
        published: false,
    };
    Ok(super::apply::preview_page(
        signed.ui,
        &signed.city,
        &record,
        &compiled,
    ))
}

async fn publish(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (definition, _) = working_copy(&state, &signed, &id).await?;
    signed.require(signed.role().publishes_procedures())?;
    let has_draft = state.store.draft(&signed.city.id, &id).await?.is_some();
    let no_questions = definition
        .form
        .as_ref()
        .is_none_or(|f| f.ui.order.is_empty() && f.attachments.is_empty());
    if has_draft && no_questions && definition.channel.accepts_online() {
        return Err(bad(signed.ui.t(
            "オンライン申請の手続には、質問を1つ以上追加してください。",
            "An online procedure needs at least one question.",
        )));
    }
    if has_draft {
        state
            .store
            .publish_draft(&signed.city.id, &definition.id, signed.email())
            .await?;
    } else {
        state
            .store
            .set_published(&signed.city.id, &id, true, signed.email())
            .await?;
    }
    state.procedures.forget(&signed.city.id, &id);
    Ok(see_other(&format!("/staff/procedures/{id}/edit")))
}

async fn unpublish(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    working_copy(&state, &signed, &id).await?;
    signed.require(signed.role().publishes_procedures())?;
    let found = state
        .store
        .set_published(&signed.city.id, &id, false, signed.email())
        .await?;
    if !found {
        return Err(bad(signed
            .ui
            .t("まだ公開されていません。", "It has not been published yet.")));
    }
    state.procedures.forget(&signed.city.id, &id);
    Ok(see_other(&format!("/staff/procedures/{id}/edit")))
}

async fn discard(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    working_copy(&state, &signed, &id).await?;
    state
        .store
        .discard_draft(&signed.city.id, &id, signed.email())
        .await?;
    Ok(see_other("/staff/procedures"))
}
