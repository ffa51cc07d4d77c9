//! The FAQ in the staff console: the list with residents' helpful / not helpful counts, an
//! entry's form (new, or turned from an unanswered question in one step, or changed), and its
//! removal. Staff work on their department's entries, administrators on every department's.
//! Bad input answers with the form, saying what is wrong; nothing is half-saved.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::faq::FaqEntry;
use machi_core::procedures::{DepartmentRef, Localized};
use serde::Deserialize;

use crate::kit::{render, see_other, Chrome, PageError, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff_faq.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    saved: bool,
}

struct Row {
    id: String,
    question: String,
    department: String,
    helpful: i64,
    unhelpful: i64,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    saved: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let scope = signed.department_scope(signed.role().edits_procedures())?;
    let counts = state.store.faq_feedback(&signed.city.id).await?;
    let rows = state
        .store
        .faq(&signed.city.id)
        .await?
        .into_iter()
        .filter(|e| scope.as_ref().is_none_or(|d| &e.department_code == d))
        .map(|e| {
            let count = counts.get(&e.id).copied().unwrap_or_default();
            Row {
                question: e.question.ja,
                department: e.department,
                helpful: count.helpful,
                unhelpful: count.unhelpful,
                id: e.id,
            }
        })
        .collect();
    Ok(render(&ListPage {
        chrome: signed.chrome("/staff/faq"),
        rows,
        saved: query.saved.is_some(),
    }))
}

#[derive(Template)]
#[template(path = "staff_faq_form.html")]
struct EntryPage {
    chrome: Chrome,
    /// Empty for a new entry.
    id: String,
    form: EntryForm,
    /// The departments an administrator may choose from (empty for others).
    departments: Vec<DepartmentRef>,
    errors: Vec<(String, String)>,
}

/// The entry as the form carries it.
#[derive(Debug, Default, Deserialize)]
pub(super) struct EntryForm {
    #[serde(default)]
    department_code: String,
    #[serde(default)]
    question_ja: String,
    #[serde(default)]
    question_en: String,
    #[serde(default)]
    answer_ja: String,
    #[serde(default)]
    answer_en: String,
    /// Procedure ids, separated by commas or spaces.
    #[serde(default)]
    procedures: String,
    #[serde(default)]
    keywords: String,
    /// The unanswered question this entry answers (it leaves the list when saved).
    #[serde(default)]
    answers: String,
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    /// An unanswered question to answer.
    question: Option<String>,
}

pub(super) async fn new(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<NewQuery>,
) -> Result<Response, PageError> {
    let scope = signed.department_scope(signed.role().edits_procedures())?;
    let question = query.question.unwrap_or_default();
    let form = EntryForm {
        department_code: scope.unwrap_or_default(),
        question_ja: question.clone(),
        answers: question,
        ..Default::default()
    };
    entry_page(&state, &signed, String::new(), form, Vec::new()).await
}

pub(super) async fn edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let entry = own_entry(&state, &signed, &id).await?;
    let form = EntryForm {
        department_code: entry.department_code,
        question_ja: entry.question.ja,
        question_en: entry.question.en,
        answer_ja: entry.answer.ja,
        answer_en: entry.answer.en,
        procedures: entry.procedures.join(", "),
        keywords: entry.keywords.join(", "),
        answers: String::new(),
    };
    entry_page(&state, &signed, id, form, Vec::new()).await
}

/// The entry `id` when it belongs to the signed-in person's department (any, for
/// administrators); 404 otherwise.
async fn own_entry(state: &AppState, signed: &Signed, id: &str) -> Result<FaqEntry, PageError> {
    let scope = signed.department_scope(signed.role().edits_procedures())?;
    state
        .store
        .faq(&signed.city.id)
        .await?
        .into_iter()
        .find(|e| e.id == id && scope.as_ref().is_none_or(|d| &e.department_code == d))
        .ok_or_else(|| {
            PageError::from(crate::kit::ApiError::not_found(
                signed
                    .ui
                    .t("その質問は見つかりません。", "There is no such question."),
            ))
        })
}

async fn entry_page(
    state: &AppState,
    signed: &Signed,
    id: String,
    form: EntryForm,
    errors: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let departments = if signed.role().manages_accounts() {
        state.store.departments(&signed.city.id).await?
    } else {
        Vec::new()
    };
    let status = crate::kit::form_status(&errors);
    let page = EntryPage {
        chrome: signed.chrome("/staff/faq"),
        id,
        form,
        departments,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

pub(super) async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    let existing = state.store.faq(&signed.city.id).await?;
    let prefix = signed
        .department_scope(signed.role().edits_procedures())?
        .unwrap_or_else(|| form.department_code.clone());
    // A new entry's id: its department and the next free number (kept when it is changed).
    let id = (existing.len() + 1..)
        .map(|n| format!("{}-{n}", prefix.to_ascii_lowercase()))
        .find(|id| existing.iter().all(|e| &e.id != id))
        .unwrap_or_default();
    save(&state, &signed, id, true, form).await
}

pub(super) async fn update(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    own_entry(&state, &signed, &id).await?;
    save(&state, &signed, id, false, form).await
}

async fn save(
    state: &AppState,
    signed: &Signed,
    id: String,
    new: bool,
    form: EntryForm,
) -> Result<Response, PageError> {
    let scope = signed.department_scope(signed.role().edits_procedures())?;
    let department_code = scope.unwrap_or_else(|| form.department_code.trim().to_string());
    let departments = state.store.departments(&signed.city.id).await?;
    let department = departments.iter().find(|d| d.code == department_code);
    let clean = |text: &str| machi_core::text::clean_text(text).trim().to_string();
    let list = |text: &str| -> Vec<String> {
        clean(text)
            .split([',', '、', ';', ' ', '\u{3000}'])
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    };
    let entry = FaqEntry {
        id: id.clone(),
        department_code: department_code.clone(),
        department: department.map(|d| d.ja.clone()).unwrap_or_default(),
        question: Localized::new(clean(&form.question_ja), clean(&form.question_en)),
        answer: Localized::new(clean(&form.answer_ja), clean(&form.answer_en)),
        procedures: list(&form.procedures),
        keywords: list(&form.keywords),
    };
    let mut errors: Vec<(String, String)> = entry
        .problems()
        .into_iter()
        .filter(|(field, _)| *field != "id" || department.is_some())
        .map(|(field, message)| (field_id(field), signed.ui.l(&message).to_string()))
        .collect();
    if department.is_none() {
        errors.push((
            "faq-department".into(),
            signed
                .ui
                .t("担当課を選んでください。", "Choose the department.")
                .into(),
        ));
    }
    let mut unknown = None;
    for id in &entry.procedures {
        if state.store.procedure(&signed.city.id, id).await?.is_none() {
            unknown = Some(id);
            break;
        }
    }
    if let Some(unknown) = unknown {
        errors.push((
            "faq-procedures".into(),
            format!(
                "{}{unknown}",
                signed.ui.t("この手続はありません: ", "No such procedure: ")
            ),
        ));
    }
    if !errors.is_empty() {
        let id = if new { String::new() } else { id };
        return entry_page(state, signed, id, form, errors).await;
    }
    let answers = Some(form.answers.trim()).filter(|q| !q.is_empty());
    state
        .store
        .save_faq_entry(&signed.city.id, &entry, answers, signed.email())
        .await?;
    Ok(see_other("/staff/faq?saved=1"))
}

/// The form field a problem of [`FaqEntry::problems`] belongs to.
fn field_id(field: &str) -> String {
    match field {
        "question" => "faq-question-ja",
        "answer" => "faq-answer-ja",
        "procedures" => "faq-procedures",
        _ => "faq-department",
    }
    .to_string()
}

pub(super) async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    own_entry(&state, &signed, &id).await?;
    state
        .store
        .delete_faq_entry(&signed.city.id, &id, signed.email())
        .await?;
    Ok(see_other("/staff/faq?saved=1"))
}
