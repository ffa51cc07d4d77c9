//! 補正 (correction): when staff ask for a correction, the applicant opens their application
//! with the receipt number and access code, reads the department's message, changes the answers
//! and files (each sent file can be kept, replaced or removed) and sends them again; the
//! application becomes "resubmitted" and goes back to the department's inbox, with a note of
//! what changed.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use machi_core::applications::Status;
use machi_core::procedures::InputKind;
use machi_core::receipt::AccessCode;

use machi_core::procedures::{CompiledForm, Localized};
use machi_store::{ApplicationView, NewAttachment, StoredFile};
use serde_json::{Map, Value};

use super::apply::{draw_form, FormMode};
use super::carried;
use super::form_view::Values;
use super::status::render_found;
use super::submit;
use crate::kit::{read_form, ApiError, City, PageError, Ui};
use crate::AppState;

pub(super) async fn correct(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    request: Request,
) -> Result<Response, PageError> {
    crate::kit::check_origin(request.headers())?;
    let (pairs, uploads) = read_form(&state, request).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (receipt, code) = (field("receipt_number"), field("access_code"));
    let view = state
        .store
        .application_by_access_code(&city.id, &receipt, &code)
        .await?;
    let record = state
        .procedures
        .get(&state.store, &city.id, &view.procedure_id)
        .await?
        .ok_or_else(|| {
            PageError::from(
                ApiError::not_found("no such procedure").with_ja("この手続はありません。"),
            )
        })?;
    let workflow = record.definition.workflow();
    if view.status != Status::CorrectionRequested
        || !workflow.allows(Status::CorrectionRequested, Status::Resubmitted)
    {
        return Err(PageError::from(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no-correction",
            "No correction requested",
            ui.t(
                "この申請には補正の依頼がありません。",
                "No correction has been asked for on this application.",
            ),
        )));
    }
    let form = state
        .forms
        .get(
            &state.store,
            &city.id,
            &view.procedure_id,
            view.form_version,
        )
        .await?;
    let message = department_message(&view, ui);
    let key = carried::key(&state).await?;
    if field("step") != "send" {
        // A My Number was never kept: it is asked again.
        let mut answers = view.answers.clone();
        answers.retain(|name, _| {
            form.definition()
                .ui
                .fields
                .get(name)
                .is_none_or(|hint| hint.input != InputKind::MyNumber)
        });
        let files = carried::sealed(&key, sent_files(&view));
        let mode = FormMode::Correct {
            receipt_number: &view.receipt_number,
            access_code: &code,
            message: message.as_deref(),
            files: &files,
        };
        let values = Values::from_answers(&answers);
        return Ok(draw_form(ui, &city, &record, &form, &values, &[], &mode));
    }
    let carried = carried::checked(&state, &form, carried::from_pairs(&key, &pairs)).await;
    let (files, file_errors) = submit::check_and_keep_files(&state, &form, uploads, carried).await;
    if let Some(lookup) = super::postcode::fill_address(&state, ui, &pairs).await {
        let files = carried::sealed(&key, files);
        let mode = FormMode::Correct {
            receipt_number: &view.receipt_number,
            access_code: &code,
            message: message.as_deref(),
            files: &files,
        };
        let values =
            Values::from_pairs(&lookup.pairs).with_lookup(lookup.postcode_field, lookup.note);
        return Ok(draw_form(ui, &city, &record, &form, &values, &[], &mode));
    }
    let raw = form.answers_from_pairs(&pairs);
    let answers = match form.validate(&raw) {
        Ok(answers) if file_errors.is_empty() => answers,
        answers => {
            let mut errors = answers.err().unwrap_or_default();
            errors.extend(file_errors);
            let files = carried::sealed(&key, files);
            let mode = FormMode::Correct {
                receipt_number: &view.receipt_number,
                access_code: &code,
                message: message.as_deref(),
                files: &files,
            };
            let values = Values::from_answers(&raw);
            return Ok(draw_form(
                ui, &city, &record, &form, &values, &errors, &mode,
            ));
        }
    };
    let digest = AccessCode::parse(&code)
        .map(|c| c.digest())
        .unwrap_or_default();
    let stored = form.for_storage(answers);
    let note = changes_note(&form, &view, stored.as_map(), &files);
    let done = state
        .store
        .resubmit(
            &city.id,
            &view.receipt_number,
            &digest,
            stored.as_map(),
            &files,
            &note,
        )
        .await?;
    if !done {
        return Err(PageError::from(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no-correction",
            "No correction requested",
            ui.t(
                "この申請はすでに再提出されています。",
                "This application has already been sent again.",
            ),
        )));
    }
    let refreshed = state
        .store
        .application_by_access_code(&city.id, &receipt, &code)
        .await?;
    Ok(render_found(&state, &city, ui, refreshed, &code)
        .await?
        .into_response())
}

/// What the department wrote when it asked for the correction (its latest note since then).
fn department_message(view: &ApplicationView, ui: Ui) -> Option<String> {
    let asked = view
        .history
        .iter()
        .rposition(|event| event.status == Status::CorrectionRequested && !event.message)?;
    view.history[asked..]
        .iter()
        .rev()
        .map(|event| ui.l(&event.note).to_string())
        .find(|note| !note.is_empty())
}

/// The files the application has, as the correction form carries them.
fn sent_files(view: &ApplicationView) -> Vec<NewAttachment> {
    view.attachments
        .iter()
        .map(|a| NewAttachment {
            field: a.field.clone(),
            filename: a.filename.clone(),
            media_type: a.media_type.clone(),
            file: StoredFile {
                sha256: a.sha256.clone(),
                size_bytes: a.size_bytes.max(0) as u64,
            },
        })
        .collect()
}

/// 「変更された項目：住所、本人確認書類」: the questions and files the correction changed, for the
/// history staff read.
fn changes_note(
    form: &CompiledForm,
    view: &ApplicationView,
    answers: &Map<String, Value>,
    files: &[NewAttachment],
) -> Localized {
    let label = |name: &str, en: bool| {
        let from_field = form.definition().ui.fields.get(name).map(|hint| {
            if en {
                hint.label.get("en").to_string()
            } else {
                hint.label.ja.clone()
            }
        });
        from_field
            .or_else(|| {
                let text = machi_core::procedures::display::attachment_label(en, form, name);
                (!text.is_empty()).then_some(text)
            })
            .unwrap_or_else(|| name.to_string())
    };
    let mut changed: Vec<String> = form
        .fields()
        .map(|(name, _)| name.to_string())
        .filter(|name| view.answers.get(name) != answers.get(name))
        .collect();
    for spec in &form.definition().attachments {
        let before = view.attachments.iter().find(|a| a.field == spec.name);
        let after = files.iter().find(|f| f.field == spec.name);
        if before.map(|b| &b.sha256) != after.map(|a| &a.file.sha256) {
            changed.push(spec.name.clone());
        }
    }
    if changed.is_empty() {
        return Localized::new("変更された項目はありません", "Nothing was changed");
    }
    let names = |en: bool| {
        changed
            .iter()
            .map(|name| label(name, en))
            .collect::<Vec<_>>()
    };
    Localized::new(
        format!("変更された項目：{}", names(false).join("、")),
        format!("Changed: {}", names(true).join(", ")),
    )
}
