//! The questions of a procedure's form in the editor: the list as staff see it, and adding,
//! moving and removing questions (also inside a repeatable group).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use machi_core::procedures::builder::{FieldType, NewField};
use machi_core::procedures::{Condition, FormDefinition, InputKind, Localized};
use serde::Deserialize;

use super::{bad, optional_number, save, working_copy};
use crate::kit::{PageError, Signed};
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

#[derive(Deserialize)]
pub(super) struct FieldForm {
    #[serde(default)]
    name: String,
    label_ja: String,
    #[serde(default)]
    label_en: String,
    #[serde(default)]
    help_ja: String,
    field_type: String,
    #[serde(default)]
    required: Option<String>,
    /// One choice per line, `日本語` or `日本語 / English`.
    #[serde(default)]
    options: String,
    /// `field=value`, or empty.
    #[serde(default)]
    show_if: String,
    /// The repeatable group to add the question inside, or empty.
    #[serde(default)]
    group: String,
    /// For a repeatable group: how many entries residents can give (empty: the default).
    #[serde(default)]
    max_items: String,
}

pub(super) async fn add_field(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<FieldForm>,
) -> Result<Response, PageError> {
    let (mut definition, _) = working_copy(&state, &signed, &id).await?;
    let field_type = FieldType::parse(&form.field_type)
        .ok_or_else(|| bad(format!("unknown question type '{}'", form.field_type)))?;
    let max_items = optional_number(&signed, &form.max_items, "max_items")?;
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
        label: Localized::new(
            machi_core::text::clean_text(&form.label_ja),
            machi_core::text::clean_text(&form.label_en),
        ),
        help: (!form.help_ja.trim().is_empty()).then(|| Localized::new(form.help_ja.trim(), "")),
        field_type,
        required: form.required.is_some(),
        options: form
            .options
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| match line.split_once(" / ") {
                Some((ja, en)) => Localized::new(ja.trim(), en.trim()),
                None => Localized::new(line, ""),
            })
            .collect(),
        show_if,
        group,
        max_items: max_items.and_then(|n| u64::try_from(n).ok()),
    };
    questions.add_field(field).map_err(bad)?;
    save(&state, &signed, &definition, "add_field").await
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
    questions
        .move_field(&name, form.direction == "up")
        .map_err(bad)?;
    save(&state, &signed, &definition, "move_field").await
}

pub(super) async fn remove_field(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (mut definition, _) = working_copy(&state, &signed, &id).await?;
    let questions = definition.form.get_or_insert_with(FormDefinition::empty);
    questions.remove_field(&name).map_err(bad)?;
    save(&state, &signed, &definition, "remove_field").await
}
