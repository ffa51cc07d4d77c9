//! 申請状況の確認: a resident types the receipt number and access code and sees the status
//! and history. Posted, not in the URL, so the code never lands in logs or history.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use machi_core::applications::Status;
use machi_core::procedures::display::{answer_rows, attachment_label};

use crate::kit::resident::require_resident;
use crate::kit::{city_name, jst_text, no_store, render, ApiError, City, PageError, Ui};
use crate::AppState;

struct FoundView {
    procedure: String,
    receipt_number: String,
    status: String,
    submitted: String,
    /// (status label, time, note)
    history: Vec<(String, String, String)>,
    /// The fee still to pay, with how it is made up (none, or paid already).
    fee_due: Option<String>,
    /// The fee a 減免 waived, with its reason.
    fee_waived: Option<String>,
    /// Payment attempts: (state, amount in yen, time).
    payments: Vec<(String, i64, String)>,
    access_code: String,
    /// Staff asked for a correction: the applicant may send corrected answers.
    correction_requested: bool,
    /// For a refusal: how to ask for a review (教示).
    appeal: Option<String>,
    /// What happens next, for the status it is in.
    next_step: String,
    /// When a decision is expected (submitted + 標準処理期間), while one is awaited.
    expected: Option<String>,
    /// The visit the procedure asks to book.
    visit: Option<super::visit::Visit>,
    /// A copy of the answers as sent: (question, answer); and the files' names.
    answers: Vec<(String, String)>,
    files: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    ui: Ui,
    city: String,
    back: String,
    receipt_number: String,
    error: Option<String>,
    found: Option<FoundView>,
}

#[derive(Deserialize)]
pub(super) struct ShowParams {
    /// Filled in from the link in the acknowledgement e-mail, so only the code is typed.
    #[serde(default)]
    receipt_number: String,
}

pub(super) async fn show(City(city): City, ui: Ui, Query(params): Query<ShowParams>) -> Response {
    let receipt_number = machi_core::text::fold_width(params.receipt_number.trim());
    let well_formed = receipt_number.len() <= 32
        && receipt_number
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-');
    render(&StatusPage {
        ui,
        city: city_name(ui, &city),
        back: "/status".into(),
        receipt_number: if well_formed {
            receipt_number
        } else {
            String::new()
        },
        error: None,
        found: None,
    })
}

#[derive(Deserialize)]
pub(super) struct LookupForm {
    receipt_number: String,
    access_code: String,
}

pub(super) async fn lookup(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Form(form): Form<LookupForm>,
) -> Result<Response, PageError> {
    let mut page = StatusPage {
        ui,
        city: city_name(ui, &city),
        back: "/status".into(),
        receipt_number: form.receipt_number.clone(),
        error: None,
        found: None,
    };
    match state
        .store
        .application_by_access_code(&city.id, &form.receipt_number, &form.access_code)
        .await
    {
        Ok(view) => render_found(&state, &city, ui, view, &form.access_code).await,
        Err(machi_store::StoreError::NotFound(_)) => {
            page.error = Some(
                ui.t(
                    "受付番号または確認コードが正しくありません。もう一度確認してください。",
                    "The receipt number or access code is not right. Please check them.",
                )
                .to_string(),
            );
            Ok((StatusCode::NOT_FOUND, no_store(render(&page))).into_response())
        }
        Err(e) => Err(PageError::from(e)),
    }
}

/// The status page of a found application (`access_code` lets it offer the fee payment; empty
/// when the resident is signed in instead).
pub(crate) async fn render_found(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    view: machi_store::ApplicationView,
    access_code: &str,
) -> Result<Response, PageError> {
    let mut page = StatusPage {
        ui,
        city: city_name(ui, city),
        back: "/status".into(),
        receipt_number: view.receipt_number.clone(),
        error: None,
        found: None,
    };
    let procedure = state.store.procedure(&city.id, &view.procedure_id).await?;
    let payments = state
        .store
        .payments_of(
            &city.id,
            machi_store::payments::Payable::Application(&view.receipt_number),
        )
        .await?;
    let paid = payments
        .iter()
        .any(|p| p.state == machi_core::payments::PaymentState::Paid);
    let fee = procedure
        .as_ref()
        .and_then(|p| p.definition.fee(&view.answers));
    let fee_text = |fee: &machi_core::procedures::Fee| ui.l(&fee.text()).to_string();
    let fee_due = fee
        .as_ref()
        .filter(|fee| fee.total > 0 && !paid)
        .map(fee_text);
    let fee_waived = fee.as_ref().filter(|fee| fee.total == 0).map(fee_text);
    let expected = view
        .due_date()
        .filter(|_| view.status.awaits_decision())
        .map(machi_core::wareki::format_wareki);
    let form = state
        .forms
        .get(
            &state.store,
            &city.id,
            &view.procedure_id,
            view.form_version,
        )
        .await?;
    let status_label = procedure
        .as_ref()
        .map(|p| p.definition.status_label(view.status))
        .unwrap_or_else(|| view.status.label());
    // A refusal carries the 教示 of how to appeal it (行政不服審査法 第82条).
    let appeal = if view.status.is_refusal() {
        let notice = crate::kit::texts::appeal_notice(state, city).await;
        Some(ui.l(&notice).to_string())
    } else {
        None
    };
    let visit = match &procedure {
        Some(p) => {
            let code = machi_core::receipt::AccessCode::parse(access_code);
            super::visit::visit(
                state,
                &city.id,
                ui,
                &p.definition,
                &view.receipt_number,
                code.as_ref(),
            )
            .await?
        }
        None => None,
    };
    page.found = Some(FoundView {
        visit,
        appeal,
        next_step: ui.l(&view.status.next_step()).to_string(),
        expected,
        answers: answer_rows(ui.en, &form, &view.answers),
        files: view
            .attachments
            .iter()
            .map(|a| (attachment_label(ui.en, &form, &a.field), a.filename.clone()))
            .collect(),
        fee_due,
        fee_waived,
        payments: payments
            .iter()
            .map(|p| {
                (
                    ui.l(&p.state.label()).to_string(),
                    p.amount_yen,
                    jst_text(p.updated_at),
                )
            })
            .collect(),
        access_code: access_code.to_string(),
        correction_requested: view.status == Status::CorrectionRequested,
        procedure: procedure
            .map(|p| ui.l(&p.definition.name).to_string())
            .unwrap_or(view.procedure_id.clone()),
        receipt_number: view.receipt_number.clone(),
        status: ui.l(&status_label).to_string(),
        submitted: jst_text(view.submitted_at),
        history: view
            .history
            .iter()
            .map(|h| {
                (
                    if h.message {
                        ui.t("担当課からのメッセージ", "Message from the department")
                            .to_string()
                    } else {
                        ui.l(&h.status.label()).to_string()
                    },
                    jst_text(h.at),
                    ui.l(&h.note).to_string(),
                )
            })
            .collect(),
    });
    Ok(no_store(render(&page)))
}

/// 「申請一覧」: one of the signed-in resident's own applications, shown as its status page.
pub(super) async fn my_application(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Path(receipt): Path<String>,
) -> Result<Response, PageError> {
    let session = require_resident(&state, &city, ui, &headers).await?;
    let view = state
        .store
        .my_application(&city.id, &session.resident_id, &receipt)
        .await?
        .ok_or_else(|| {
            PageError::from(ApiError::not_found(
                ui.t("この申請はありません。", "There is no such application."),
            ))
        })?;
    render_found(&state, &city, ui, view, "").await
}
