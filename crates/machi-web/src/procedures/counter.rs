//! 書かない窓口 (counter mode): staff scan a resident's QR code (a scanner types the code into
//! the focused box) or type it, check the prefilled answers with them, check their identity,
//! and submit on their behalf; or fill in a form for a visitor from scratch. Applications made
//! here are marked `counter` (統計: online vs counter).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Form;
use chrono::{Datelike, Utc};
use machi_core::procedures::{CompiledForm, FieldError};
use machi_store::{ProcedureQuery, ProcedureRecord};
use serde::Deserialize;
use serde_json::json;

use super::submit::{self, Submission};
use crate::kit::{render, ApiError, Chrome, PageError, Signed, Ui};
use crate::procedures::form_view::{field_target, field_view, FieldView, Values};
use crate::AppState;

/// Identity documents the counter accepts (本人確認書類).
const IDENTITY_DOCUMENTS: [(&str, &str, &str); 5] = [
    ("my_number_card", "マイナンバーカード", "My Number card"),
    ("driving_licence", "運転免許証", "Driving licence"),
    ("passport", "パスポート", "Passport"),
    ("residence_card", "在留カード", "Residence card"),
    ("other", "その他（2点確認）", "Other (two documents)"),
];

#[derive(Template)]
#[template(path = "staff_counter.html")]
struct CounterHome {
    chrome: Chrome,
    procedures: Vec<(String, String)>,
    counts: Vec<(String, i64)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "staff_counter_form.html")]
struct CounterForm {
    chrome: Chrome,
    ui: Ui,
    id: String,
    name: String,
    form_version: i64,
    prefill: String,
    fields: Vec<FieldView>,
    documents: Vec<(String, String, bool)>,
    identity_checked: bool,
    errors: Vec<(String, String)>,
    attachments: Vec<String>,
}

#[derive(Template)]
#[template(path = "staff_counter_done.html")]
struct CounterDone {
    chrome: Chrome,
    name: String,
    receipt_number: String,
    access_code: String,
}

fn month_start() -> String {
    let today = machi_core::wareki::today_jst();
    let first = today.with_day(1).unwrap_or(today);
    machi_store::format_time(
        first
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(machi_core::wareki::jst()).single())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(Utc::now()),
    )
}

async fn home_page(
    state: &AppState,
    signed: &Signed,
    error: Option<String>,
) -> Result<Response, PageError> {
    signed.require(signed.role().serves_counter())?;
    let records = state
        .store
        .search_procedures(
            &signed.city.id,
            &ProcedureQuery {
                online_only: true,
                limit: 200,
                ..ProcedureQuery::default()
            },
        )
        .await?;
    let ui = signed.ui;
    let counts = state
        .store
        .made_via_counts(&signed.city.id, &month_start())
        .await?
        .into_iter()
        .map(|(via, n)| {
            let label = if via == "counter" {
                ui.t("窓口", "At the counter")
            } else {
                ui.t("オンライン", "Online")
            };
            (label.to_string(), n)
        })
        .collect();
    let page = CounterHome {
        chrome: signed.chrome("/staff/counter"),
        procedures: records
            .iter()
            .map(|r| {
                (
                    r.definition.id.clone(),
                    ui.l(&r.definition.name).to_string(),
                )
            })
            .collect(),
        counts,
        error,
    };
    let status = if page.error.is_some() {
        axum::http::StatusCode::NOT_FOUND
    } else {
        axum::http::StatusCode::OK
    };
    Ok(axum::response::IntoResponse::into_response((
        status,
        render(&page),
    )))
}

pub(super) async fn home(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    home_page(&state, &signed, None).await
}

#[derive(Deserialize)]
pub(super) struct OpenParams {
    #[serde(default)]
    code: String,
    #[serde(default)]
    procedure: String,
}

/// A scanned or typed code opens the prefilled form; a procedure opens an empty one.
pub(super) async fn open(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<OpenParams>,
) -> Result<Response, PageError> {
    signed.require(signed.role().serves_counter())?;
    if !params.procedure.is_empty() {
        let (record, version, form) =
            counter_form(&state, &signed, &params.procedure, None).await?;
        return Ok(form_page(
            &signed,
            &record,
            version,
            &form,
            "",
            &Values::default(),
            &[],
            None,
            false,
        ));
    }
    let prefill = state.store.prefill(&signed.city.id, &params.code).await?;
    let Some(prefill) = prefill else {
        let message = signed.ui.t(
            "このコードの事前入力は見つかりません（期限切れか、使用済みです）。",
            "No prefilled answers have this code (expired or already used).",
        );
        return home_page(&state, &signed, Some(message.to_string())).await;
    };
    signed
        .audit(
            &state,
            "counter.open",
            &prefill.code,
            json!({ "procedure": prefill.procedure_id }),
        )
        .await?;
    let (record, version, form) = counter_form(
        &state,
        &signed,
        &prefill.procedure_id,
        Some(prefill.form_version),
    )
    .await?;
    Ok(form_page(
        &signed,
        &record,
        version,
        &form,
        &prefill.code,
        &Values::from_answers(&prefill.answers),
        &[],
        None,
        false,
    ))
}

/// The procedure and the form version to use (the prefill's, or the current one).
async fn counter_form(
    state: &AppState,
    signed: &Signed,
    id: &str,
    version: Option<i64>,
) -> Result<(Arc<ProcedureRecord>, i64, Arc<CompiledForm>), PageError> {
    let (record, current, form) =
        submit::online_form(state, &signed.city.id, id, signed.ui).await?;
    match version {
        Some(version) if version != current => {
            let older = state
                .forms
                .get(&state.store, &signed.city.id, id, version)
                .await?;
            Ok((record, version, older))
        }
        _ => Ok((record, current, form)),
    }
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    signed: &Signed,
    record: &ProcedureRecord,
    version: i64,
    form: &CompiledForm,
    prefill: &str,
    values: &Values,
    errors: &[FieldError],
    document: Option<&str>,
    identity_checked: bool,
) -> Response {
    let ui = signed.ui;
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| ui.l(&e.message).to_string())
    };
    let page = CounterForm {
        chrome: signed.chrome("/staff/counter"),
        ui,
        id: record.definition.id.clone(),
        name: ui.l(&record.definition.name).to_string(),
        form_version: version,
        prefill: prefill.to_string(),
        fields: form
            .fields()
            .map(|(name, hint)| field_view(ui, form, name, hint, values, &error_of))
            .collect(),
        documents: IDENTITY_DOCUMENTS
            .iter()
            .map(|(value, ja, en)| {
                (
                    value.to_string(),
                    ui.t(ja, en).to_string(),
                    document == Some(*value),
                )
            })
            .collect(),
        identity_checked,
        errors: errors
            .iter()
            .map(|e| (field_target(form, &e.field), ui.l(&e.message).to_string()))
            .collect(),
        attachments: form
            .definition()
            .attachments
            .iter()
            .map(|a| ui.l(&a.label).to_string())
            .collect(),
    };
    let status = crate::kit::form_status(errors);
    axum::response::IntoResponse::into_response((status, render(&page)))
}

/// Submits for the visitor after their identity was checked.
pub(super) async fn submit_for_visitor(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    signed.require(signed.role().serves_counter())?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let version = field("form_version").parse::<i64>().ok();
    let (record, version, form) =
        counter_form(&state, &signed, field("procedure"), version).await?;
    let prefill = field("prefill");
    let document = IDENTITY_DOCUMENTS
        .iter()
        .map(|(value, _, _)| *value)
        .find(|value| *value == field("identity_document"));
    let identity_checked = field("identity_checked") == "1";
    let raw = form.answers_from_pairs(&pairs);
    let mut errors = form.validate(&raw).err().unwrap_or_default();
    if document.is_none() || !identity_checked {
        errors.push(FieldError::new(
            "identity_document",
            machi_core::procedures::Localized::new(
                "本人確認書類を選び、確認済みにチェックしてください",
                "choose the identity document and tick that you checked it",
            ),
        ));
    }
    if !errors.is_empty() {
        return Ok(form_page(
            &signed,
            &record,
            version,
            &form,
            prefill,
            // From the answers as typed, so a group's entries line up with its errors.
            &Values::from_answers(&raw),
            &errors,
            document,
            identity_checked,
        ));
    }
    let answers = form
        .validate(&raw)
        .map_err(|e| PageError::from(ApiError::invalid_fields(e, "/answers")))?;
    let accepted = submit::submit(
        &state,
        &signed.city,
        Submission {
            procedure: &record,
            form_version: version,
            answers: form.for_storage(answers),
            attachments: Vec::new(),
            idempotency_key: None,
            made_via: "counter",
            resident_id: None,
        },
    )
    .await?;
    let receipt = accepted.receipt.receipt_number.clone();
    if !prefill.is_empty() {
        state.store.forget_prefill(&signed.city.id, prefill).await?;
    }
    signed.audit(&state, "counter.submit", &receipt, json!({ "procedure": record.definition.id, "identity_document": document, "prefilled": !prefill.is_empty(), })).await?;
    Ok(render(&CounterDone {
        chrome: signed.chrome("/staff/counter"),
        name: signed.ui.l(&record.definition.name).to_string(),
        receipt_number: receipt,
        access_code: accepted.access_code.display(),
    }))
}
