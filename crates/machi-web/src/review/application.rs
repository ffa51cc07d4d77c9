//! 申請の審査画面: one application as its department sees it, and the changes staff make.
//! Opening it is an audited view of personal data; every change is audited with it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::applications::{Status, Workflow};
use machi_core::procedures::{CompiledForm, Localized};
use machi_store::mail::OutgoingMail;
use machi_store::review::{StaffApplication, StatusChange};
use serde::Deserialize;
use serde_json::json;

use crate::kit::{
    jst_text, percent_encode, render, see_other, ApiError, Chrome, PageError, Signed,
};
use crate::AppState;
use machi_core::procedures::display::{answer_rows, applicant_email, attachment_label};

/// Longest note, message or comment staff may write.
const MAX_TEXT: usize = 4000;

struct Loaded {
    application: StaffApplication,
    form: std::sync::Arc<CompiledForm>,
    procedure_name: Localized,
    workflow: Workflow,
}

/// Loads an application of the signed-in person's department (403 for another department,
/// 404 when there is no such application).
async fn load(state: &AppState, signed: &Signed, receipt: &str) -> Result<Loaded, PageError> {
    signed.require(signed.role().reviews_applications())?;
    let application = state
        .store
        .staff_application(&signed.city.id, receipt)
        .await?
        .ok_or_else(|| {
            PageError::from(ApiError::not_found(signed.ui.t(
                "この受付番号の申請はありません。",
                "There is no application with this receipt number.",
            )))
        })?;
    signed.require_department(&application.department_code)?;
    let view = &application.view;
    let form = state
        .forms
        .get(
            &state.store,
            &signed.city.id,
            &view.procedure_id,
            view.form_version,
        )
        .await?;
    let procedure = state
        .procedures
        .get(&state.store, &signed.city.id, &view.procedure_id)
        .await?;
    let (procedure_name, workflow) = match procedure {
        Some(record) => (record.definition.name.clone(), record.definition.workflow()),
        None => (Localized::new(&view.procedure_id, ""), Workflow::standard()),
    };
    Ok(Loaded {
        application,
        form,
        procedure_name,
        workflow,
    })
}

/// The review steps of a procedure.
pub(super) async fn workflow_of(
    state: &AppState,
    signed: &Signed,
    procedure_id: &str,
) -> Result<Workflow, PageError> {
    Ok(state
        .procedures
        .get(&state.store, &signed.city.id, procedure_id)
        .await?
        .map(|r| r.definition.workflow())
        .unwrap_or_default())
}

/// The e-mail that tells the applicant about a new status, if they gave an address.
pub(super) async fn status_mail(
    state: &AppState,
    signed: &Signed,
    receipt: &str,
    to: Status,
    note: &str,
) -> Result<Option<OutgoingMail>, PageError> {
    let loaded = load(state, signed, receipt).await?;
    Ok(applicant_mail(signed, &loaded, &status_text(to), note))
}

/// What the applicant is told when the status changes.
fn status_text(to: Status) -> Localized {
    let label = to.label();
    Localized::new(
        format!("状況が「{}」になりました。", label.ja),
        format!("Its status is now: {}.", label.en),
    )
}

fn applicant_mail(
    signed: &Signed,
    loaded: &Loaded,
    what: &Localized,
    note: &str,
) -> Option<OutgoingMail> {
    let view = &loaded.application.view;
    let recipient = applicant_email(&loaded.form, &view.answers)?;
    let city = &signed.city;
    let note_block = if note.is_empty() {
        String::new()
    } else {
        format!("\n{note}\n")
    };
    let body = format!(
        "{name_ja}の申請（受付番号 {receipt}）について、{city_ja}からのお知らせです。\n\n{what_ja}\n{note_block}\n\
         状況は、{city_ja}のホームページの「申請状況の確認」で、受付番号と確認コードを入力して確認できます。\n\
         このメールは送信専用です。\n\n\
         ---\n\
         A message from {city_en} about your application for {name_en} (receipt number {receipt}).\n\n\
         {what_en}\n\n\
         You can check it under \"Check an application\" on the city's website with your receipt number and access code.\n",
        name_ja = loaded.procedure_name.ja,
        name_en = signed.ui.name(&loaded.procedure_name.en, &loaded.procedure_name.ja),
        receipt = view.receipt_number,
        city_ja = city.name_ja,
        city_en = signed.ui.name(&city.name_en, &city.name_ja),
        what_ja = what.ja,
        what_en = what.en,
    );
    Some(OutgoingMail {
        recipient,
        subject: format!(
            "【{}】申請状況のお知らせ（受付番号 {}）",
            city.name_ja, view.receipt_number
        ),
        body,
    })
}

struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "staff_application.html")]
struct ApplicationPage {
    chrome: Chrome,
    receipt_number: String,
    procedure: String,
    status: String,
    status_value: String,
    submitted: String,
    due: String,
    overdue: bool,
    made_via: String,
    assignee: String,
    answers: Vec<(String, String)>,
    files: Vec<(String, String, String)>,
    history: Vec<(String, String, String, bool)>,
    comments: Vec<(String, String, String)>,
    next_statuses: Vec<Choice>,
    colleagues: Vec<Choice>,
    has_email: bool,
    can_assign: bool,
    me: String,
    /// (state, amount in yen, provider reference, last change)
    payments: Vec<(String, i64, String, String)>,
    fee_unpaid: Option<i64>,
    /// Applications made together in a life-event bundle: (receipt, procedure, department).
    siblings: Vec<(String, String, String)>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &signed, &receipt).await?;
    signed
        .audit(&state, "application.view", &receipt, json!({}))
        .await?;
    let ui = signed.ui;
    let app = &loaded.application;
    let view = &app.view;
    let now = machi_store::Time::now();
    let colleagues = colleagues(&state, &signed).await?;
    let payments = state.store.payments_of(&signed.city.id, &receipt).await?;
    let paid = payments
        .iter()
        .any(|p| p.state == machi_core::payments::PaymentState::Paid);
    let siblings = state
        .store
        .bundle_siblings(&signed.city.id, &receipt)
        .await?;
    let fee = state
        .procedures
        .get(&state.store, &signed.city.id, &app.view.procedure_id)
        .await?
        .and_then(|r| r.definition.fee_yen)
        .filter(|fee| *fee > 0);
    let page = ApplicationPage {
        chrome: signed.chrome(&format!("/staff/applications/{receipt}")),
        receipt_number: view.receipt_number.clone(),
        procedure: ui.l(&loaded.procedure_name).to_string(),
        status: ui.l(&view.status.label()).to_string(),
        status_value: view.status.as_str().to_string(),
        submitted: jst_text(view.submitted_at),
        due: app.due_at.map(jst_text).unwrap_or_default(),
        overdue: view.status.is_open() && app.due_at.is_some_and(|d| d < now),
        made_via: if view.made_via == "counter" {
            ui.t("窓口", "At the counter")
        } else {
            ui.t("オンライン", "Online")
        }
        .to_string(),
        assignee: app.assignee.clone().unwrap_or_default(),
        answers: answer_rows(ui.en, &loaded.form, &view.answers),
        files: view
            .attachments
            .iter()
            .map(|a| {
                (
                    attachment_label(ui.en, &loaded.form, &a.field),
                    a.filename.clone(),
                    format!("/staff/applications/{receipt}/files/{}", a.field),
                )
            })
            .collect(),
        history: view
            .history
            .iter()
            .map(|h| {
                (
                    ui.l(&h.status.label()).to_string(),
                    jst_text(h.at),
                    ui.l(&h.note).to_string(),
                    h.message,
                )
            })
            .collect(),
        comments: app
            .comments
            .iter()
            .map(|c| (c.author.clone(), jst_text(c.at), c.body.clone()))
            .collect(),
        next_statuses: loaded
            .workflow
            .next(view.status)
            .iter()
            .map(|s| Choice {
                value: s.as_str().into(),
                label: ui.l(&s.label()).into(),
            })
            .collect(),
        colleagues,
        has_email: applicant_email(&loaded.form, &view.answers).is_some(),
        can_assign: signed.role().assigns_work(),
        me: signed.email().to_string(),
        fee_unpaid: fee.filter(|_| !paid),
        siblings,
        payments: payments
            .iter()
            .map(|p| {
                (
                    ui.l(&p.state.label()).to_string(),
                    p.amount_yen,
                    p.provider_ref.clone().unwrap_or_default(),
                    jst_text(p.updated_at),
                )
            })
            .collect(),
    };
    Ok(render(&page))
}

/// Reviewers of the same department, for assignment.
async fn colleagues(state: &AppState, signed: &Signed) -> Result<Vec<Choice>, PageError> {
    let department = signed.department()?;
    let users = state.store.users(&signed.city.id).await?;
    Ok(users
        .into_iter()
        .filter(|u| {
            !u.disabled
                && u.role.reviews_applications()
                && u.department_code.as_deref() == Some(department)
        })
        .map(|u| Choice {
            label: format!("{} <{}>", u.display_name, u.email),
            value: u.email,
        })
        .collect())
}

fn checked_text(signed: &Signed, text: &str, required: bool) -> Result<String, PageError> {
    let text = machi_core::text::strip_control_chars(text.trim());
    if required && text.is_empty() {
        return Err(PageError::from(ApiError::bad_request(
            signed.ui.t("本文を入力してください。", "Enter some text."),
        )));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(PageError::from(ApiError::bad_request(format!(
            "{} {MAX_TEXT}",
            signed
                .ui
                .t("長すぎます。最大文字数:", "Too long. Most characters:")
        ))));
    }
    Ok(text)
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    /// The status the page showed (so a change made meanwhile is not overwritten).
    from: String,
    to: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    notify: Option<String>,
}

pub(super) async fn change_status(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &signed, &receipt).await?;
    let bad = |what: &str| PageError::from(ApiError::bad_request(what.to_string()));
    let from = Status::parse(&form.from).ok_or_else(|| bad("unknown 'from' status"))?;
    let to = Status::parse(&form.to).ok_or_else(|| {
        bad(signed
            .ui
            .t("次の状況を選んでください。", "Choose the next status."))
    })?;
    if !loaded.workflow.allows(from, to) {
        return Err(bad(signed.ui.t(
            "この手続では、その状況には進めません。",
            "This procedure has no such step.",
        )));
    }
    let note = checked_text(&signed, &form.note, false)?;
    let mail = if form.notify.is_some() {
        applicant_mail(&signed, &loaded, &status_text(to), &note)
    } else {
        None
    };
    let change = StatusChange {
        receipt_number: receipt.clone(),
        from,
        to,
        note: Localized::new(note, ""),
        actor: signed.email().to_string(),
        mail,
    };
    state
        .store
        .change_status(&signed.city.id, &[change])
        .await?;
    Ok(see_other(&format!("/staff/applications/{receipt}")))
}

#[derive(Deserialize)]
pub(super) struct TextForm {
    #[serde(default)]
    body: String,
}

/// A message to the applicant: on their status page, and by e-mail when they gave an address.
pub(super) async fn message(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &signed, &receipt).await?;
    let body = checked_text(&signed, &form.body, true)?;
    let what = Localized::new(
        "担当課からメッセージがあります。",
        "There is a message from the department.",
    );
    let mail = applicant_mail(&signed, &loaded, &what, &body);
    state
        .store
        .message_applicant(
            &signed.city.id,
            &receipt,
            &Localized::new(body, ""),
            signed.email(),
            mail.as_ref(),
        )
        .await?;
    Ok(see_other(&format!("/staff/applications/{receipt}")))
}

/// An internal comment, seen only by staff.
pub(super) async fn comment(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    load(&state, &signed, &receipt).await?;
    let body = checked_text(&signed, &form.body, true)?;
    state
        .store
        .add_comment(&signed.city.id, &receipt, signed.email(), &body)
        .await?;
    Ok(see_other(&format!("/staff/applications/{receipt}")))
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    /// An e-mail of a colleague, or empty for nobody.
    #[serde(default)]
    assignee: String,
}

pub(super) async fn assign(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, PageError> {
    load(&state, &signed, &receipt).await?;
    // Anyone who reviews may take an application; only managers give it to someone else.
    let assignee = form.assignee.trim();
    let taking_it = assignee.is_empty() || assignee == signed.email();
    signed.require(taking_it || signed.role().assigns_work())?;
    if !assignee.is_empty() {
        let known = colleagues(&state, &signed).await?;
        if !known.iter().any(|c| c.value == assignee) {
            return Err(PageError::from(ApiError::bad_request(signed.ui.t(
                "同じ課の職員を選んでください。",
                "Choose a member of your department.",
            ))));
        }
    }
    state
        .store
        .assign(
            &signed.city.id,
            std::slice::from_ref(&receipt),
            (!assignee.is_empty()).then_some(assignee),
            signed.email(),
        )
        .await?;
    Ok(see_other(&format!("/staff/applications/{receipt}")))
}

#[derive(Template)]
#[template(path = "staff_print.html")]
struct PrintPage {
    chrome: Chrome,
    receipt_number: String,
    procedure: String,
    department: String,
    status: String,
    submitted: String,
    answers: Vec<(String, String)>,
}

/// 受付票: a printable record of the application.
pub(super) async fn print(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &signed, &receipt).await?;
    signed
        .audit(&state, "application.print", &receipt, json!({}))
        .await?;
    let ui = signed.ui;
    let view = &loaded.application.view;
    Ok(render(&PrintPage {
        chrome: signed.chrome(&format!("/staff/applications/{receipt}/print")),
        receipt_number: view.receipt_number.clone(),
        procedure: ui.l(&loaded.procedure_name).to_string(),
        department: loaded.application.department_code.clone(),
        status: ui.l(&view.status.label()).to_string(),
        submitted: jst_text(view.submitted_at),
        answers: answer_rows(ui.en, &loaded.form, &view.answers),
    }))
}

/// An attached file, downloaded (never shown inline, so no uploaded HTML runs on this site).
pub(super) async fn attachment(
    State(state): State<AppState>,
    signed: Signed,
    Path((receipt, field)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &signed, &receipt).await?;
    let file = loaded
        .application
        .view
        .attachments
        .iter()
        .find(|a| a.field == field)
        .ok_or_else(|| {
            PageError::from(
                ApiError::not_found("no such attachment").with_ja("この添付ファイルはありません。"),
            )
        })?;
    let bytes = state.store.read_file(file.sha256.clone()).await?;
    signed
        .audit(
            &state,
            "application.file",
            &receipt,
            json!({ "field": field }),
        )
        .await?;
    let disposition = format!(
        "attachment; filename=\"attachment\"; filename*=UTF-8''{}",
        percent_encode(&file.filename)
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
