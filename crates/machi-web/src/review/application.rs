//! 申請の審査画面: one application as its department sees it, and the changes staff make.
//! Opening it is an audited view of personal data; every change is audited with it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use machi_core::applications::{Status, Workflow};
use machi_core::decisions::DecisionRoute;
use machi_core::procedures::{CompiledForm, Localized};
use machi_store::mail::OutgoingMail;
use machi_store::review::StaffApplication;
use serde::Deserialize;
use serde_json::json;

use crate::kit::{jst_day, jst_text, percent_encode, render, ApiError, Chrome, PageError, Signed};
use crate::AppState;
use machi_core::procedures::display::{answer_rows, applicant_email, attachment_label};

pub(super) struct Loaded {
    pub(super) application: StaffApplication,
    pub(super) form: std::sync::Arc<CompiledForm>,
    pub(super) procedure_name: Localized,
    /// What a refusal of this procedure is called (不支給 …), if not 却下.
    pub(super) refusal: Option<Localized>,
    pub(super) workflow: Workflow,
    /// Who decides (決裁ルート).
    pub(super) route: DecisionRoute,
    /// The department's name, for 文書番号.
    pub(super) department_ja: String,
}

/// Loads an application of the signed-in person's department (403 for another department,
/// 404 when there is no such application).
pub(super) async fn load(
    state: &AppState,
    signed: &Signed,
    receipt: &str,
) -> Result<Loaded, PageError> {
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
    let (procedure_name, workflow, refusal, route, department_ja) = match procedure {
        Some(record) => (
            record.definition.name.clone(),
            record.definition.workflow(),
            record.definition.refusal.clone(),
            record.definition.decision_route(),
            record.definition.department.ja.clone(),
        ),
        None => (
            Localized::new(&view.procedure_id, ""),
            Workflow::standard(),
            None,
            DecisionRoute::default(),
            String::new(),
        ),
    };
    Ok(Loaded {
        application,
        form,
        procedure_name,
        refusal,
        workflow,
        route,
        department_ja,
    })
}

/// What the applicant is told when the status changes.
pub(super) fn status_text(to: Status) -> Localized {
    let label = to.label();
    Localized::new(
        format!("状況が「{}」になりました。", label.ja),
        format!("Its status is now: {}.", label.en),
    )
}

pub(super) fn applicant_mail(
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

pub(super) struct Choice {
    pub(super) value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "staff_application.html")]
struct ApplicationPage {
    chrome: Chrome,
    /// The change just made, confirmed.
    banner: Option<String>,
    errors: Vec<(String, String)>,
    typed_note: String,
    typed_message: String,
    typed_comment: String,
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
    /// (status, time, note, is a message, 文書番号)
    history: Vec<(String, String, String, bool, String)>,
    decision: super::decisions::DecisionPanel,
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

#[derive(Deserialize)]
pub(super) struct ShowParams {
    /// The change just made (after its redirect), for the banner that confirms it.
    #[serde(default)]
    done: String,
}

pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
    Query(params): Query<ShowParams>,
) -> Result<Response, PageError> {
    let banner = match params.done.as_str() {
        "status" => Some(Done::Status),
        "message" => Some(Done::Message),
        "comment" => Some(Done::Comment),
        "assign" => Some(Done::Assign),
        "proposed" => Some(Done::Proposed),
        "approved" => Some(Done::Approved),
        "decided" => Some(Done::Status),
        "returned" => Some(Done::Returned),
        _ => None,
    };
    let feedback = Feedback {
        done: banner,
        ..Feedback::default()
    };
    draw(&state, &signed, &receipt, feedback).await
}

/// A change made on the page, confirmed by a banner after its redirect.
pub(super) enum Done {
    Status,
    Message,
    Comment,
    Assign,
    /// 起案: a decision now waits for its approvers.
    Proposed,
    /// A step of a decision approved; more are awaited.
    Approved,
    /// 差戻し.
    Returned,
}

/// What the page says beside the application: the change just made, or what was wrong with
/// a form (the error summary, with what was typed kept).
#[derive(Default)]
pub(super) struct Feedback {
    pub(super) done: Option<Done>,
    /// (element id, message) for the error summary.
    pub(super) errors: Vec<(String, String)>,
    /// What was typed into the status note, the message and the comment.
    pub(super) note: String,
    pub(super) message: String,
    pub(super) comment: String,
}

impl Feedback {
    pub(super) fn problem(target: &str, message: &str) -> Self {
        Self {
            errors: vec![(target.to_string(), message.to_string())],
            ..Self::default()
        }
    }
}

fn banner_text(ui: crate::kit::Ui, done: &Done, status: &str) -> String {
    match done {
        Done::Status => {
            if ui.en {
                format!("The status is now: {status}.")
            } else {
                format!("状況を「{status}」に変更しました。")
            }
        }
        Done::Message => ui
            .t(
                "申請者にメッセージを送りました。",
                "The message was sent to the applicant.",
            )
            .to_string(),
        Done::Comment => ui
            .t("メモを追加しました。", "The comment was added.")
            .to_string(),
        Done::Assign => ui
            .t("担当を変更しました。", "The assignment was changed.")
            .to_string(),
        Done::Proposed => ui
            .t(
                "起案しました。決裁ルートの承認を待っています（それまで状況は変わりません）。",
                "Proposed. The decision waits for its approvers (the status does not change until then).",
            )
            .to_string(),
        Done::Approved => ui
            .t(
                "決裁しました。次の段階の承認を待っています。",
                "Approved. The decision waits for the next step.",
            )
            .to_string(),
        Done::Returned => ui
            .t("起案を差し戻しました。", "The proposal was sent back.")
            .to_string(),
    }
}

/// The application's page with `feedback` (422 when it has errors).
pub(super) async fn draw(
    state: &AppState,
    signed: &Signed,
    receipt: &str,
    feedback: Feedback,
) -> Result<Response, PageError> {
    let (state, receipt) = (state.clone(), receipt.to_string());
    let loaded = load(&state, signed, &receipt).await?;
    signed
        .audit(&state, "application.view", &receipt, json!({}))
        .await?;
    let ui = signed.ui;
    let app = &loaded.application;
    let view = &app.view;
    let now = machi_store::Time::now();
    let colleagues = colleagues(&state, signed).await?;
    let payments = state
        .store
        .payments_of(
            &signed.city.id,
            machi_store::payments::Payable::Application(&receipt),
        )
        .await?;
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
        .and_then(|r| r.definition.fee_for(&view.answers));
    let status = match (&loaded.refusal, view.status.is_refusal()) {
        (Some(refusal), true) => ui.l(refusal).to_string(),
        _ => ui.l(&view.status.label()).to_string(),
    };
    let decision = super::decisions::panel(&state, signed, &loaded).await?;
    let page = ApplicationPage {
        chrome: signed.chrome(&format!("/staff/applications/{receipt}")),
        banner: feedback.done.as_ref().map(|d| banner_text(ui, d, &status)),
        errors: feedback.errors.clone(),
        typed_note: feedback.note,
        typed_message: feedback.message,
        typed_comment: feedback.comment,
        receipt_number: view.receipt_number.clone(),
        procedure: ui.l(&loaded.procedure_name).to_string(),
        status,
        status_value: view.status.as_str().to_string(),
        submitted: jst_text(view.submitted_at),
        due: app.due_at.map(jst_day).unwrap_or_default(),
        overdue: view.status.awaits_decision() && app.due_at.is_some_and(|d| d < now),
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
                    h.document_number.clone().unwrap_or_default(),
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
            .filter(|_| decision.pending.is_none())
            .map(|s| Choice {
                value: s.as_str().into(),
                label: ui.l(&s.label()).into(),
            })
            .collect(),
        decision,
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
    let code = crate::kit::form_status(&feedback.errors);
    Ok((code, render(&page)).into_response())
}

/// Reviewers of the same department, for assignment.
pub(super) async fn colleagues(
    state: &AppState,
    signed: &Signed,
) -> Result<Vec<Choice>, PageError> {
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
