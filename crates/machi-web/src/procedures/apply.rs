//! Applying online: the form page, the confirm page and the submit (the receipt page is in
//! `receipt`).
//!
//! Answers travel from the form to the confirm page and back as canonical JSON in a hidden
//! field and are validated again on the final submit, so nothing a browser sends is trusted.
//! Files are checked and saved durably at the form step and referenced by digest afterwards.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::procedures::{CompiledForm, FieldError};
use machi_store::{NewAttachment, ProcedureRecord};
use serde_json::{Map, Value};

use super::carried::{self, KeptFile};
use super::form_view::{
    attachment_view, field_target, field_view, AnswerRowView, AttachmentView, FieldView, Values,
};
use super::submit;
use crate::kit::{city_name, no_store, read_form, render, ApiError, City, PageError, Ui};
use crate::AppState;
use machi_core::procedures::display::{attachment_label, field_rows};

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    fields: Vec<FieldView>,
    attachments: Vec<AttachmentView>,
    /// (target element id, message) for the error summary.
    errors: Vec<(String, String)>,
    /// Shown to staff from the procedure editor: nothing can be submitted.
    preview: bool,
    /// Where the form is sent, and hidden fields that go with it.
    action: String,
    hidden: Vec<(String, String)>,
    /// Correcting an application already made (補正), with the department's message.
    correcting: bool,
    message: Option<String>,
}

/// What a drawn form is for.
pub(crate) enum FormMode<'a> {
    /// Applying, with the files already attached (kept across errors and 修正する).
    Apply(&'a [KeptFile]),
    /// The editor's preview.
    Preview,
    /// 補正: the resident corrects an application staff sent back, with the department's
    /// message and the files the application has (each can be kept, replaced or removed).
    Correct {
        receipt_number: &'a str,
        access_code: &'a str,
        message: Option<&'a str>,
        files: &'a [KeptFile],
    },
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    form_version: i64,
    rows: Vec<AnswerRowView>,
    answers_json: String,
    carried: Vec<String>,
    /// The one-time token of this page's submit (see [`super::receipt`]).
    submission: String,
    /// The fee this application will cost (「900円（300円×3通）」), when it has one.
    fee: Option<String>,
    /// The declarations to make before sending, and what is wrong (not made).
    declarations: Vec<FieldView>,
    errors: Vec<(String, String)>,
}

/// The procedure and its current form, or a friendly error page when it cannot be done online.
async fn online_form(
    state: &AppState,
    city: &machi_store::Tenant,
    id: &str,
    ui: Ui,
) -> Result<(Arc<ProcedureRecord>, i64, Arc<CompiledForm>), PageError> {
    submit::online_form(state, &city.id, id, ui)
        .await
        .map_err(PageError::from)
}

pub(super) async fn show_form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, PageError> {
    let (record, _, form) = online_form(&state, &city, &id, ui).await?;
    // Once-only: a signed-in resident's profile fills in the questions about them.
    let prefill = crate::kit::resident::prefill_pairs(&state, &city, &headers, &form).await;
    Ok(no_store(form_page(
        ui,
        &city,
        &record,
        &form,
        &Values::from_pairs(&prefill),
        &[],
        &[],
    )))
}

fn form_page(
    ui: Ui,
    city: &machi_store::Tenant,
    record: &ProcedureRecord,
    form: &CompiledForm,
    values: &Values,
    errors: &[FieldError],
    kept: &[KeptFile],
) -> Response {
    draw_form(
        ui,
        city,
        record,
        form,
        values,
        errors,
        &FormMode::Apply(kept),
    )
}

/// The editor's preview: the form exactly as residents will see it, without a way to send it.
pub(crate) fn preview_page(
    ui: Ui,
    city: &machi_store::Tenant,
    record: &ProcedureRecord,
    form: &CompiledForm,
) -> Response {
    draw_form(
        ui,
        city,
        record,
        form,
        &Values::default(),
        &[],
        &FormMode::Preview,
    )
}

pub(crate) fn draw_form(
    ui: Ui,
    city: &machi_store::Tenant,
    record: &ProcedureRecord,
    form: &CompiledForm,
    values: &Values,
    errors: &[FieldError],
    mode: &FormMode<'_>,
) -> Response {
    let correcting = matches!(mode, FormMode::Correct { .. });
    let (action, hidden) = match mode {
        FormMode::Apply(_) => (
            format!("/procedures/{}/apply", record.definition.id),
            Vec::new(),
        ),
        FormMode::Preview => ("#".to_string(), Vec::new()),
        FormMode::Correct {
            receipt_number,
            access_code,
            ..
        } => (
            "/status/correct".to_string(),
            vec![
                ("receipt_number".to_string(), receipt_number.to_string()),
                ("access_code".to_string(), access_code.to_string()),
                ("step".to_string(), "send".to_string()),
            ],
        ),
    };
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| ui.l(&e.message).to_string())
    };
    // Applying, the declarations are asked on the check-answers page instead.
    let asked_later = match mode {
        FormMode::Apply(_) => form.declarations(),
        _ => Vec::new(),
    };
    let mut fields: Vec<FieldView> = form
        .fields()
        .filter(|(name, _)| !asked_later.contains(name))
        .map(|(name, hint)| field_view(ui, form, name, hint, values, &error_of))
        .collect();
    if !matches!(mode, FormMode::Preview) {
        super::postcode::link_postcodes(&mut fields);
    }
    let (kept_files, message): (&[KeptFile], _) = match mode {
        FormMode::Apply(kept) => (kept, None),
        FormMode::Correct { files, message, .. } => (files, *message),
        FormMode::Preview => (&[], None),
    };
    let kept_for = |field: &str| {
        kept_files
            .iter()
            .find(|k| k.file.field == field)
            .map(|k| (k.sealed.clone(), carried::describe(ui, &k.file)))
    };
    let attachments = form
        .definition()
        .attachments
        .iter()
        .map(|a| attachment_view(ui, a, a.name.clone(), error_of(&a.name), kept_for(&a.name)))
        .collect();
    let page = FormPage {
        ui,
        city: city_name(ui, city),
        back: format!("/procedures/{}/apply", record.definition.id),
        id: record.definition.id.clone(),
        name: ui.l(&record.definition.name).to_string(),
        fields,
        attachments,
        errors: errors
            .iter()
            .map(|e| (field_target(form, &e.field), ui.l(&e.message).to_string()))
            .collect(),
        preview: matches!(mode, FormMode::Preview),
        action,
        hidden,
        correcting,
        message: message.map(str::to_string),
    };
    let status = crate::kit::form_status(errors);
    (status, render(&page)).into_response()
}

pub(super) async fn post_form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let (record, version, form) = online_form(&state, &city, &id, ui).await?;
    let (pairs, uploads) = read_form(&state, request).await?;
    let key = carried::key(&state).await?;
    // Files attached on an earlier page (this form with errors, or the confirm page).
    let attached = carried::checked(&state, &form, carried::from_pairs(&key, &pairs)).await;
    if let Some(lookup) = super::postcode::fill_address(&state, ui, &pairs).await {
        // 「住所を検索」 without JavaScript: the form again, the address filled in, files kept.
        let (files, _) = submit::check_and_keep_files(&state, &form, uploads, attached).await;
        let values =
            Values::from_pairs(&lookup.pairs).with_lookup(lookup.postcode_field, lookup.note);
        return Ok(form_page(
            ui,
            &city,
            &record,
            &form,
            &values,
            &[],
            &carried::sealed(&key, files),
        ));
    }
    if let Some((_, json)) = pairs.iter().find(|(k, _)| k == "edit_json") {
        let answers: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
        return Ok(form_page(
            ui,
            &city,
            &record,
            &form,
            &Values::from_answers(&answers),
            &[],
            &carried::sealed(&key, attached),
        ));
    }
    let raw = form.answers_from_pairs(&pairs);
    let answers = validate_before_declaring(&form, &raw);
    let (files, file_errors) = submit::check_and_keep_files(&state, &form, uploads, attached).await;
    match answers {
        Ok(answers) if file_errors.is_empty() => {
            let carried = Carried {
                files: &files,
                key: &key,
            };
            Ok(confirm_page(
                ui,
                &city,
                &record,
                &form,
                version,
                &answers,
                carried,
                &[],
            ))
        }
        answers => {
            let mut errors = answers.err().unwrap_or_default();
            errors.extend(file_errors);
            Ok(form_page(
                ui,
                &city,
                &record,
                &form,
                // From the answers as typed, so a group's entries line up with its errors.
                &Values::from_answers(&raw),
                &errors,
                &carried::sealed(&key, files),
            ))
        }
    }
}

/// The answers checked before the declarations are made: a declaration the form did not send
/// (it is asked on the check-answers page) counts as made for the check, and is left out of
/// the answers carried on; one the form did send (an older page, a script) is kept.
fn validate_before_declaring(
    form: &CompiledForm,
    raw: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let missing: Vec<&str> = form
        .declarations()
        .into_iter()
        .filter(|name| !raw.contains_key(*name))
        .collect();
    let mut probe = raw.clone();
    for name in &missing {
        probe.insert(name.to_string(), Value::Bool(true));
    }
    let mut answers = form.validate(&probe)?;
    for name in missing {
        answers.remove(name);
    }
    Ok(answers)
}

/// The declarations as the check-answers page sent them: when the page asked them, its tick
/// boxes decide; otherwise the answers carried keep what they had.
fn declare(form: &CompiledForm, pairs: &[(String, String)], answers: &mut Map<String, Value>) {
    if !pairs.iter().any(|(k, _)| k == "declarations_asked") {
        return;
    }
    for name in form.declarations() {
        if pairs.iter().any(|(k, v)| k == name && v == "true") {
            answers.insert(name.to_string(), Value::Bool(true));
        } else {
            answers.remove(name);
        }
    }
}

/// The total fee of an application, with how it is made up (per copy, 減免).
fn fee_text(ui: Ui, record: &ProcedureRecord, answers: &Map<String, Value>) -> Option<String> {
    let fee = record.definition.fee(answers)?;
    Some(ui.l(&fee.text()).to_string())
}

/// Whether every error is a declaration not made.
fn undeclared_only(form: &CompiledForm, errors: &[FieldError]) -> bool {
    let declarations = form.declarations();
    errors
        .iter()
        .all(|e| declarations.contains(&e.field.as_str()))
}

/// The files a confirm page carries, and the key they are sealed under.
struct Carried<'a> {
    files: &'a [NewAttachment],
    key: &'a str,
}

#[allow(clippy::too_many_arguments)]
fn confirm_page(
    ui: Ui,
    city: &machi_store::Tenant,
    record: &ProcedureRecord,
    form: &CompiledForm,
    version: i64,
    answers: &Map<String, Value>,
    Carried { files, key }: Carried<'_>,
    errors: &[FieldError],
) -> Response {
    let declarations = form.declarations();
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| ui.l(&e.message).to_string())
    };
    let values = Values::from_answers(answers);
    let declaration_views: Vec<FieldView> = declarations
        .iter()
        .filter_map(|name| {
            let hint = form.definition().ui.fields.get(*name)?;
            Some(field_view(ui, form, name, hint, &values, &error_of))
        })
        .collect();
    let mut rows: Vec<AnswerRowView> = field_rows(ui.en, form, answers)
        .into_iter()
        .filter(|row| !declarations.contains(&row.field.as_str()))
        .map(|row| AnswerRowView {
            change: Some(field_target(form, &row.field)),
            label: row.label,
            value: row.value,
        })
        .collect();
    rows.extend(files.iter().map(|f| AnswerRowView {
        label: attachment_label(ui.en, form, &f.field),
        value: carried::describe(ui, f),
        change: Some(format!("att-{}", f.field)),
    }));
    let page = ConfirmPage {
        ui,
        city: city_name(ui, city),
        back: format!("/procedures/{}/apply", record.definition.id),
        id: record.definition.id.clone(),
        name: ui.l(&record.definition.name).to_string(),
        form_version: version,
        rows,
        answers_json: Value::Object(answers.clone()).to_string(),
        carried: files.iter().map(|f| carried::seal(key, f)).collect(),
        submission: super::receipt::submission_token(),
        errors: errors
            .iter()
            .map(|e| (field_target(form, &e.field), ui.l(&e.message).to_string()))
            .collect(),
        declarations: declaration_views,
        fee: fee_text(ui, record, answers),
    };
    let status = crate::kit::form_status(errors);
    (status, no_store(render(&page))).into_response()
}

/// The form version and answers the confirm page carried.
pub(super) fn confirmed_answers(
    pairs: &[(String, String)],
    ui: Ui,
) -> Result<(i64, Map<String, Value>), PageError> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bad = || {
        PageError::from(ApiError::bad_request(ui.t(
            "送信内容が正しくありません。最初からやり直してください。",
            "The form was not sent correctly. Please start again.",
        )))
    };
    let version: i64 = field("form_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let answers: Map<String, Value> = field("answers_json")
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(bad)?;
    Ok((version, answers))
}

pub(super) async fn submit(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (record, _, _) = online_form(&state, &city, &id, ui).await?;
    let (version, mut answers) = confirmed_answers(&pairs, ui)?;
    let resident = crate::kit::resident::signed_in(&state, &city, &headers).await;
    let form = state
        .forms
        .get(&state.store, &city.id, &id, version)
        .await?;
    let key = carried::key(&state).await?;
    let carried = carried::from_pairs(&key, &pairs);
    declare(&form, &pairs, &mut answers);
    let answers = match form.validate(&answers) {
        Ok(answers) => answers,
        Err(errors) if undeclared_only(&form, &errors) => {
            // Only a declaration is missing: the check-answers page again, saying so.
            let kept = carried::checked(&state, &form, carried).await;
            let shown = validate_before_declaring(&form, &answers).unwrap_or(answers);
            let files = Carried {
                files: &kept,
                key: &key,
            };
            return Ok(confirm_page(
                ui, &city, &record, &form, version, &shown, files, &errors,
            ));
        }
        Err(errors) => {
            let kept = carried::checked(&state, &form, carried).await;
            return Ok(form_page(
                ui,
                &city,
                &record,
                &form,
                &Values::from_answers(&answers),
                &errors,
                &carried::sealed(&key, kept),
            ));
        }
    };
    let attachments = carried::required(&state, ui, &form, carried).await?;
    let token = super::receipt::token_of(&pairs);
    let accepted = submit::submit(
        &state,
        &city,
        submit::Submission {
            procedure: &record,
            form_version: version,
            answers: form.for_storage(answers),
            attachments,
            idempotency_key: Some(super::receipt::idempotency_key(&token)),
            made_via: "online",
            resident_id: resident.map(|r| r.resident_id),
        },
    )
    .await?;
    Ok(super::receipt::redirect_to_receipt(
        &headers,
        &record.definition.id,
        &accepted.receipt.receipt_number,
        &token,
    ))
}
