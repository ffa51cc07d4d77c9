//! 回答の表示: answers written out for people (on the confirm page, the staff view of an
//! application, exports): choices by their label, dates in 和暦, a group's entries one by one,
//! a My Number never shown. In Japanese or English (`en`).

use serde_json::{Map, Value};

use super::{CompiledForm, FieldHint, InputKind, Localized};

fn t<'a>(en: bool, ja: &'a str, english: &'a str) -> &'a str {
    if en {
        english
    } else {
        ja
    }
}

fn label(en: bool, text: &Localized) -> &str {
    text.get(if en { "en" } else { "ja" })
}

/// An answer as plain text: a string as it is, anything else as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn display_value(en: bool, form: &CompiledForm, name: &str, value: &Value) -> String {
    match form.definition().ui.fields.get(name) {
        Some(hint) => hint_display(en, hint, value),
        None => value_text(value),
    }
}

/// An answer written out for people by its question's hint: choices by label, dates in 和暦,
/// a group's entries as `1: …, … / 2: …`.
pub fn hint_display(en: bool, hint: &FieldHint, value: &Value) -> String {
    let option = |v: &str| {
        hint.options
            .get(v)
            .map(|l| label(en, l).to_string())
            .unwrap_or_else(|| v.to_string())
    };
    match (hint.input, value) {
        (InputKind::Checkbox, Value::Bool(yes)) => t(
            en,
            if *yes { "はい" } else { "いいえ" },
            if *yes { "Yes" } else { "No" },
        )
        .to_string(),
        (InputKind::Checkboxes, Value::Array(items)) => items
            .iter()
            .map(|v| option(&value_text(v)))
            .collect::<Vec<_>>()
            .join(t(en, "、", ", ")),
        (InputKind::Select | InputKind::Radio, Value::String(v)) => option(v),
        (InputKind::MyNumber, Value::String(v)) if v == crate::mynumber::STORED_MARKER => t(
            en,
            "提示あり（番号は保存していません）",
            "Given (the number is not kept)",
        )
        .to_string(),
        (InputKind::MyNumber, _) => t(
            en,
            "入力済み（画面には表示しません）",
            "Entered (not shown on screen)",
        )
        .to_string(),
        (InputKind::Date, Value::String(v)) => {
            match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Ok(date) => format!("{}（{v}）", crate::wareki::format_wareki(date)),
                Err(_) => v.clone(),
            }
        }
        (InputKind::Group, Value::Array(entries)) => entries
            .iter()
            .enumerate()
            .map(|(index, entry)| format!("{}: {}", index + 1, entry_text(en, hint, entry, false)))
            .collect::<Vec<_>>()
            .join(" / "),
        (_, other) => value_text(other),
    }
}

/// One entry of a group: its answers in the group's order, with their labels if `labelled`.
fn entry_text(en: bool, group: &FieldHint, entry: &Value, labelled: bool) -> String {
    let Some(items) = &group.items else {
        return value_text(entry);
    };
    items
        .order
        .iter()
        .filter_map(|name| Some((items.fields.get(name)?, entry.get(name)?)))
        .map(|(hint, value)| {
            let text = hint_display(en, hint, value);
            if labelled {
                format!("{}{}{text}", label(en, &hint.label), t(en, "：", ": "))
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join(t(en, "、", ", "))
}

/// The answers as (label, value) rows in form order, written out for people.
pub fn answer_rows(
    en: bool,
    form: &CompiledForm,
    answers: &Map<String, Value>,
) -> Vec<(String, String)> {
    field_rows(en, form, answers)
        .into_iter()
        .map(|row| (row.label, row.value))
        .collect()
}

/// One answer written out for people, with the question it answers.
pub struct AnswerRow {
    /// The question's name (a group's name for each of its entries).
    pub field: String,
    pub label: String,
    pub value: String,
}

/// The answers as rows in form order, each with the question it answers (for a page that
/// links each answer back to its question, as check-answers pages do).
pub fn field_rows(en: bool, form: &CompiledForm, answers: &Map<String, Value>) -> Vec<AnswerRow> {
    let mut rows = Vec::new();
    for (name, hint) in form.fields() {
        match (hint.input, answers.get(name)) {
            (_, None) => {}
            // One row per entry of a group, each answer with its label.
            (InputKind::Group, Some(Value::Array(entries))) => {
                rows.extend(entries.iter().enumerate().map(|(index, entry)| {
                    let label = label(en, &hint.label);
                    let n = index + 1;
                    let heading = if en {
                        format!("{label}, entry {n}")
                    } else {
                        format!("{label}（{n}件目）")
                    };
                    AnswerRow {
                        field: name.to_string(),
                        label: heading,
                        value: entry_text(en, hint, entry, true),
                    }
                }));
            }
            (_, Some(value)) => rows.push(AnswerRow {
                field: name.to_string(),
                label: label(en, &hint.label).to_string(),
                value: display_value(en, form, name, value),
            }),
        }
    }
    rows
}

/// The label of an attachment field (empty if the form has no such field).
pub fn attachment_label(en: bool, form: &CompiledForm, field: &str) -> String {
    form.definition()
        .attachments
        .iter()
        .find(|a| a.name == field)
        .map(|a| label(en, &a.label).to_string())
        .unwrap_or_default()
}

/// The applicant's e-mail address: the first answered e-mail field of the form.
/// The applicant's name: the answer to the form's question about the person's own name
/// (autocomplete `name`), if given.
pub fn applicant_name(form: &CompiledForm, answers: &Map<String, Value>) -> Option<String> {
    form.fields()
        .filter(|(_, hint)| hint.autocomplete.as_deref() == Some("name"))
        .find_map(|(name, _)| answers.get(name).and_then(Value::as_str))
        .filter(|name| !name.is_empty())
        .map(str::to_string)
}

pub fn applicant_email(form: &CompiledForm, answers: &Map<String, Value>) -> Option<String> {
    form.fields()
        .filter(|(_, hint)| hint.input == InputKind::Email)
        .find_map(|(name, _)| answers.get(name).and_then(Value::as_str))
        .filter(|email| !email.is_empty())
        .map(str::to_string)
}
