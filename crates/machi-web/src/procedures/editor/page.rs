//! The editor's page of one procedure: its questions, the form to add one, its basics, and
//! what must be fixed before it can be published; with what was typed and an error summary
//! when an edit was refused.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use machi_core::procedures::builder::{FIELD_TYPES, GROUP_FIELD_TYPES};
use machi_core::procedures::{FormDefinition, InputKind, LifeEvent};

use super::questions::{condition_choices, field_rows, FieldRow};
use super::working_copy;
use crate::kit::{render, Chrome, PageError, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff_procedure_edit.html")]
struct EditPage {
    chrome: Chrome,
    /// (input id, message) for the error summary.
    errors: Vec<(String, String)>,
    /// The "add a question" form as typed (empty when nothing was sent).
    adding: super::questions::FieldForm,
    id: String,
    department: String,
    name_ja: String,
    name_en: String,
    kana: String,
    summary_ja: String,
    summary_en: String,
    channel: String,
    fee_yen: String,
    processing_days: String,
    keywords: String,
    life_events: Vec<(String, String, bool)>,
    fields: Vec<FieldRow>,
    field_types: Vec<(String, String)>,
    /// Questions a new question may depend on: (field, value, label).
    conditions: Vec<(String, String)>,
    /// Repeatable groups a new question can go inside: (field, label).
    groups: Vec<(String, String)>,
    /// The types allowed inside a group, for the help text.
    group_types: String,
    live_state: String,
    has_draft: bool,
    can_publish: bool,
    problems: Vec<String>,
}

pub(super) async fn edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    draw_edit(&state, &signed, &id, Typed::default()).await
}

/// What was typed into the page's "add a question" form, shown again with what is wrong.
#[derive(Default)]
pub(super) struct Typed {
    pub(super) errors: Vec<(String, String)>,
    pub(super) question: Option<super::questions::FieldForm>,
}

/// The editor's page; with errors, 422 and the question as typed.
pub(super) async fn draw_edit(
    state: &AppState,
    signed: &Signed,
    id: &str,
    typed: Typed,
) -> Result<Response, PageError> {
    let id = id.to_string();
    let (definition, live) = working_copy(state, signed, &id).await?;
    let has_draft = state.store.draft(&signed.city.id, &id).await?.is_some();
    let adding = typed.question.unwrap_or_default();
    let ui = signed.ui;
    let form = definition
        .form
        .clone()
        .unwrap_or_else(FormDefinition::empty);
    let problems = if form.ui.order.is_empty() && form.attachments.is_empty() {
        vec![ui
            .t("質問がまだありません。", "The form has no questions yet.")
            .to_string()]
    } else {
        definition.check().err().unwrap_or_default()
    };
    let page = EditPage {
        chrome: signed.chrome(&format!("/staff/procedures/{id}/edit")),
        errors: typed.errors.clone(),
        adding,
        department: ui
            .name(&definition.department.ja, &definition.department.en)
            .to_string(),
        name_ja: definition.name.ja.clone(),
        name_en: definition.name.en.clone(),
        kana: definition.kana.clone(),
        summary_ja: definition.summary.ja.clone(),
        summary_en: definition.summary.en.clone(),
        channel: definition.channel.as_str().to_string(),
        fee_yen: definition
            .fee_yen
            .map(|f| f.to_string())
            .unwrap_or_default(),
        processing_days: definition
            .processing_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        keywords: definition.keywords.join("、"),
        life_events: LifeEvent::ALL
            .iter()
            .map(|e| {
                (
                    e.as_str().to_string(),
                    ui.l(&e.label()).to_string(),
                    definition.life_events.contains(e),
                )
            })
            .collect(),
        fields: field_rows(ui, &form),
        field_types: FIELD_TYPES
            .iter()
            .map(|t| (t.as_str().to_string(), ui.l(&t.label()).to_string()))
            .collect(),
        conditions: condition_choices(ui, &form),
        groups: form
            .ui
            .order
            .iter()
            .filter_map(|name| form.ui.fields.get(name).map(|hint| (name, hint)))
            .filter(|(_, hint)| hint.input == InputKind::Group)
            .map(|(name, hint)| (name.clone(), ui.l(&hint.label).to_string()))
            .collect(),
        group_types: GROUP_FIELD_TYPES
            .iter()
            .map(|t| ui.l(&t.label()).to_string())
            .collect::<Vec<_>>()
            .join(ui.t("、", ", ")),
        live_state: match &live {
            Some(record) if record.published => format!(
                "{} ({} {})",
                ui.t("公開中", "Published"),
                ui.t("フォーム版", "form version"),
                record.form_version.unwrap_or_default()
            ),
            Some(_) => ui.t("非公開", "Not published").to_string(),
            None => ui.t("未公開（新規）", "New, not yet published").to_string(),
        },
        has_draft,
        can_publish: signed.role().publishes_procedures(),
        problems,
        id,
    };
    let status = crate::kit::form_status(&typed.errors);
    Ok((status, render(&page)).into_response())
}
