//! The questions of a procedure's form in the editor: the list as staff see it, and adding,
//! rewording, moving and removing questions (also inside a repeatable group). A refused change
//! comes back as the page with an error summary and what was typed.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::procedures::builder::{EditError, FieldEdit, FieldType, NewField};
use machi_core::procedures::{Condition, FormDefinition, InputKind, Localized};
use serde::Deserialize;

use super::page::{draw_edit, Typed};
use super::{save, working_copy};
use crate::kit::{render, ApiError, Chrome, PageError, Signed};
use crate::AppState;

pub(super) struct FieldRow {
    pub(super) name: String,
    pub(super) label: String,
    pub(super) kind: String,
    pub(super) required: bool,
    pub(super) condition: String,
}

pub(super) fn field_rows(ui: crate::kit::Ui, form: &FormDefinition) -> Vec<FieldRow> {
    let required = |name: &str| {
        form.schema
            .get("required")
            .and_then(|r| r.as_array())
            .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(name)))
    };
    let mut rows: Vec<FieldRow> = Vec::new();
    for (name, hint) in form
        .ui
        .order
        .iter()
        .filter_map(|name| form.ui.fields.get(name).map(|hint| (name, hint)))
    {
        rows.push(FieldRow {
            name: name.clone(),
            label: ui.l(&hint.label).to_string(),
            kind: match form.schema.pointer(&format!("/properties/{name}/maxItems")) {
                Some(max) if hint.input == InputKind::Group => format!(
                    "{}{}",
                    input_label(ui, hint.input),
                    if ui.en {
                        format!(" (up to {max})")
                    } else {
                        format!("（最大{max}件）")
                    }
                ),
                _ => input_label(ui, hint.input),
            },
            required: required(name) || hint.show_if.is_some() && conditional_required(form, name),
            condition: hint
                .show_if
                .as_ref()
                .map(|c| format!("{} = {}", c.field, c.equals))
                .unwrap_or_default(),
        });
        rows.extend(group_rows(ui, form, name, hint));
    }
    rows.extend(form.attachments.iter().map(|a| FieldRow {
        name: a.name.clone(),
        label: ui.l(&a.label).to_string(),
        kind: ui.l(&FieldType::File.label()).to_string(),
        required: a.required,
        condition: String::new(),
    }));
    rows
}

/// The questions inside a group, listed as `group.question` under the group's row.
fn group_rows(
    ui: crate::kit::Ui,
    form: &FormDefinition,
    group: &str,
    hint: &machi_core::procedures::FieldHint,
) -> Vec<FieldRow> {
    let Some(items) = &hint.items else {
        return Vec::new();
    };
    let required = |name: &str| {
        form.schema
            .pointer(&format!("/properties/{group}/items/required"))
            .and_then(|r| r.as_array())
            .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(name)))
    };
    items
        .order
        .iter()
        .filter_map(|name| items.fields.get(name).map(|sub| (name, sub)))
        .map(|(name, sub)| FieldRow {
            name: format!("{group}.{name}"),
            label: format!("{} › {}", ui.l(&hint.label), ui.l(&sub.label)),
            kind: input_label(ui, sub.input),
            required: required(name),
            condition: String::new(),
        })
        .collect()
}

fn conditional_required(form: &FormDefinition, name: &str) -> bool {
    form.schema
        .get("allOf")
        .and_then(|r| r.as_array())
        .is_some_and(|rules| {
            rules
                .iter()
                .any(|rule| rule.pointer("/then/required/0").and_then(|v| v.as_str()) == Some(name))
        })
}

fn input_label(ui: crate::kit::Ui, input: InputKind) -> String {
    let field_type = match input {
        InputKind::Text => FieldType::Text,
        InputKind::Textarea => FieldType::Textarea,
        InputKind::Kana => FieldType::Kana,
        InputKind::Date => FieldType::Date,
        InputKind::Postcode => FieldType::Postcode,
        InputKind::Phone => FieldType::Phone,
        InputKind::Email => FieldType::Email,
        InputKind::Number => FieldType::Number,
        InputKind::Select => FieldType::Select,
        InputKind::Radio => FieldType::Radio,
        InputKind::Checkbox => FieldType::Checkbox,
        InputKind::Checkboxes => FieldType::Checkboxes,
        InputKind::MyNumber => FieldType::MyNumber,
        InputKind::Group => FieldType::Group,
    };
    ui.l(&field_type.label()).to_string()
}

/// Every answer a later question can depend on, as `field=value` with a readable label.
pub(super) fn condition_choices(
    ui: crate::kit::Ui,
    form: &FormDefinition,
) -> Vec<(String, String)> {
    let mut choices = Vec::new();
    for name in &form.ui.order {
        let Some(hint) = form.ui.fields.get(name) else {
            continue;
        };
        let label = ui.l(&hint.label);
        match hint.input {
            InputKind::Checkbox => {
                choices.push((
                    format!("{name}=true"),
                    format!("{label}: {}", ui.t("チェックあり", "ticked")),
                ));
            }
            InputKind::Select | InputKind::Radio | InputKind::Checkboxes => {
                for (value, option) in &hint.options {
                    choices.push((
                        format!("{name}={value}"),
                        format!("{label}: {}", ui.l(option)),
                    ));
                }
            }
            _ => {}
        }
    }
    choices
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct FieldForm {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) label_ja: String,
    #[serde(default)]
    pub(super) label_en: String,
    #[serde(default)]
    pub(super) help_ja: String,
    #[serde(default)]
    pub(super) field_type: String,
    #[serde(default)]
    pub(super) required: Option<String>,
    /// One choice per line, `日本語` or `日本語 / English`.
    #[serde(default)]
    pub(super) options: String,
    /// `field=value`, or empty.
    #[serde(default)]
    pub(super) show_if: String,
    /// The repeatable group to add the question inside, or empty.
    #[serde(default)]
    pub(super) group: String,
    /// For a repeatable group: how many entries residents can give (empty: the default).
    #[serde(default)]
    pub(super) max_items: String,
}

/// A label as staff typed it: trimmed, without control characters, and otherwise exact (「（フリガナ）」
/// keeps its full-width brackets; only search keys are folded).
fn label_text(text: &str) -> String {
    machi_core::text::strip_control_chars(text.trim())
}

/// Choices typed one per line, `日本語` or `日本語 / English`.
fn option_lines(text: &str) -> Vec<Localized> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(" / ") {
            Some((ja, en)) => Localized::new(label_text(ja), label_text(en)),
            None => Localized::new(label_text(line), ""),
        })
        .collect()
}

/// The editor's page again with what is wrong (led to its input) and the question as typed.
async fn refused(
    state: &AppState,
    signed: &Signed,
    id: &str,
    error: EditError,
    question: Option<FieldForm>,
) -> Result<Response, PageError> {
    let input = if error.input.is_empty() {
        "questions"
    } else {
        error.input
    };
    let typed = Typed {
        errors: vec![(input.to_string(), signed.ui.l(&error.message).to_string())],
        question,
    };
    draw_edit(state, signed, id, typed).await
}

pub(super) async fn add_field(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<FieldForm>,
) -> Result<Response, PageError> {
    let (mut definition, _) = working_copy(&state, &signed, &id).await?;
    let Some(field_type) = FieldType::parse(&form.field_type) else {
        let error = EditError::new(
            "field_type",
            "回答の種類を選んでください",
            "Choose a type of answer",
        );
        return refused(&state, &signed, &id, error, Some(form)).await;
    };
    let max_items = match whole_number(&form.max_items) {
        Ok(n) => n,
        Err(()) => {
            let error = EditError::new(
                "max_items",
                "最大件数は0以上の整数で入力してください",
                "Enter the most entries as a whole number",
            );
            return refused(&state, &signed, &id, error, Some(form)).await;
        }
    };
    let group = Some(form.group.trim().to_string()).filter(|g| !g.is_empty());
    let questions = definition.form.get_or_insert_with(FormDefinition::empty);
    let name = match form.name.trim() {
        "" => next_free_name(questions, group.as_deref()),
        given => given.to_string(),
    };
    let show_if = form
        .show_if
        .split_once('=')
        .map(|(field, equals)| Condition {
            field: field.to_string(),
            equals: equals.to_string(),
        });
    let field = NewField {
        name,
        label: Localized::new(label_text(&form.label_ja), label_text(&form.label_en)),
        help: (!form.help_ja.trim().is_empty())
            .then(|| Localized::new(label_text(&form.help_ja), "")),
        field_type,
        required: form.required.is_some(),
        options: option_lines(&form.options),
        show_if,
        group,
        max_items: max_items.and_then(|n| u64::try_from(n).ok()),
    };
    if let Err(error) = questions.add_field(field) {
        return refused(&state, &signed, &id, error, Some(form)).await;
    }
    save(&state, &signed, &definition, "add_field").await
}

/// A whole number of 0 or more typed in any width, or nothing.
fn whole_number(text: &str) -> Result<Option<i64>, ()> {
    let folded = machi_core::text::fold_width(text.trim()).replace(',', "");
    if folded.is_empty() {
        return Ok(None);
    }
    folded
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or(())
}

/// `q1`, `q2`, …: the first name not yet used (in the form, or inside `group`).
fn next_free_name(form: &FormDefinition, group: Option<&str>) -> String {
    let inside = group
        .and_then(|g| form.ui.fields.get(g))
        .and_then(|h| h.items.as_ref());
    (1..)
        .map(|n| format!("q{n}"))
        .find(|name| match (group, inside) {
            (Some(_), Some(items)) => !items.fields.contains_key(name),
            (Some(_), None) => true,
            _ => {
                !form.ui.fields.contains_key(name)
                    && !form.ui.fields.contains_key(&format!("{name}_postcode"))
                    && !form.attachments.iter().any(|a| a.name == *name)
            }
        })
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    #[serde(default)]
    direction: String,
}

pub(super) async fn move_field(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, name)): Path<(String, String)>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let (mut definition, _) = working_copy(&state, &signed, &id).await?;
    let questions = definition.form.get_or_insert_with(FormDefinition::empty);
    if let Err(error) = questions.move_field(&name, form.direction == "up") {
        return refused(&state, &signed, &id, error, None).await;
    }
    save(&state, &signed, &definition, "move_field").await
}

pub(super) async fn remove_field(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (mut definition, _) = working_copy(&state, &signed, &id).await?;
    let questions = definition.form.get_or_insert_with(FormDefinition::empty);
    if let Err(error) = questions.remove_field(&name) {
        return refused(&state, &signed, &id, error, None).await;
    }
    save(&state, &signed, &definition, "remove_field").await
}

#[derive(Template)]
#[template(path = "staff_procedure_question.html")]
struct QuestionPage {
    chrome: Chrome,
    id: String,
    name: String,
    kind: String,
    label_ja: String,
    label_en: String,
    help_ja: String,
    required: bool,
    /// The choices, one per line (`日本語 / English`), for a choice question.
    options: Option<String>,
    errors: Vec<(String, String)>,
}

/// What a question says now, as the edit form shows it.
fn current(form: &FormDefinition, name: &str) -> Option<(FieldForm, String, bool)> {
    let line = |l: &Localized| {
        if l.en.is_empty() {
            l.ja.clone()
        } else {
            format!("{} / {}", l.ja, l.en)
        }
    };
    if let Some(spec) = form.attachments.iter().find(|a| a.name == name) {
        let typed = FieldForm {
            label_ja: spec.label.ja.clone(),
            label_en: spec.label.en.clone(),
            help_ja: spec.help.as_ref().map(|h| h.ja.clone()).unwrap_or_default(),
            required: spec.required.then(|| "1".into()),
            ..FieldForm::default()
        };
        return Some((typed, FieldType::File.as_str().into(), false));
    }
    let hint = form.ui.fields.get(name)?;
    let choices = matches!(
        hint.input,
        InputKind::Select | InputKind::Radio | InputKind::Checkboxes
    );
    let required = field_rows(crate::kit::Ui { en: false }, form)
        .into_iter()
        .any(|row| row.name == name && row.required);
    let typed = FieldForm {
        label_ja: hint.label.ja.clone(),
        label_en: hint.label.en.clone(),
        help_ja: hint.help.as_ref().map(|h| h.ja.clone()).unwrap_or_default(),
        required: required.then(|| "1".into()),
        options: hint
            .options
            .values()
            .map(line)
            .collect::<Vec<_>>()
            .join("\n"),
        ..FieldForm::default()
    };
    Some((typed, format!("{:?}", hint.input), choices))
}

fn question_page(
    signed: &Signed,
    id: &str,
    name: &str,
    form: &FormDefinition,
    typed: Option<FieldForm>,
    errors: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let (now, _, choices) = current(form, name).ok_or_else(|| {
        PageError::from(ApiError::not_found(
            signed
                .ui
                .t("その質問はありません。", "There is no such question."),
        ))
    })?;
    let kind = field_rows(signed.ui, form)
        .into_iter()
        .find(|row| row.name == name)
        .map(|row| row.kind)
        .unwrap_or_default();
    let shown = typed.unwrap_or(now);
    let page = QuestionPage {
        chrome: signed.chrome(&format!("/staff/procedures/{id}/fields/{name}/edit")),
        id: id.to_string(),
        name: name.to_string(),
        kind,
        label_ja: shown.label_ja,
        label_en: shown.label_en,
        help_ja: shown.help_ja,
        required: shown.required.is_some(),
        options: choices.then_some(shown.options),
        errors: errors.clone(),
    };
    let status = crate::kit::form_status(&errors);
    Ok((status, render(&page)).into_response())
}

/// The form that rewords one question (its name and type stay).
pub(super) async fn edit_question(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (definition, _) = working_copy(&state, &signed, &id).await?;
    let form = definition.form.unwrap_or_else(FormDefinition::empty);
    question_page(&signed, &id, &name, &form, None, Vec::new())
}

pub(super) async fn update_question(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, name)): Path<(String, String)>,
    Form(typed): Form<FieldForm>,
) -> Result<Response, PageError> {
    let (mut definition, _) = working_copy(&state, &signed, &id).await?;
    let questions = definition.form.get_or_insert_with(FormDefinition::empty);
    let edit = FieldEdit {
        label: Localized::new(label_text(&typed.label_ja), label_text(&typed.label_en)),
        help: (!typed.help_ja.trim().is_empty())
            .then(|| Localized::new(label_text(&typed.help_ja), "")),
        required: typed.required.is_some(),
        options: option_lines(&typed.options),
    };
    if let Err(error) = questions.edit_field(&name, edit) {
        let input = if error.input.is_empty() {
            "label_ja"
        } else {
            error.input
        };
        let errors = vec![(input.to_string(), signed.ui.l(&error.message).to_string())];
        let form = questions.clone();
        return question_page(&signed, &id, &name, &form, Some(typed), errors);
    }
    save(&state, &signed, &definition, "edit_field").await
}
