//! The changes staff make on an application's page: its status, a message to the applicant, an
//! internal comment and the assignment. A change answers with a redirect to the page, whose
//! banner confirms it; bad input answers with the page itself, an error summary at the top and
//! what was typed still there — never a bare error.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use machi_core::applications::Status;
use machi_core::procedures::Localized;
use machi_store::mail::OutgoingMail;
use machi_store::review::{Approver, Outcome, Proposal, StatusChange};
use serde::Deserialize;

use super::application::{applicant_mail, colleagues, draw, load, status_text, Feedback, Loaded};
use crate::kit::{see_other, PageError, Signed, Ui};
use crate::AppState;

/// Longest note, message or comment staff may write.
const MAX_TEXT: usize = 4000;

/// The text as kept (trimmed, without control characters), or what is wrong with it.
pub(super) fn checked_text(ui: Ui, text: &str, required: bool) -> Result<String, String> {
    let text = machi_core::text::strip_control_chars(text.trim());
    if required && text.is_empty() {
        return Err(ui
            .t("本文を入力してください。", "Enter some text.")
            .to_string());
    }
    if text.chars().count() > MAX_TEXT {
        return Err(if ui.en {
            format!("Too long: at most {MAX_TEXT} characters.")
        } else {
            format!("長すぎます。{MAX_TEXT}文字以内にしてください。")
        });
    }
    Ok(text)
}

pub(super) fn back_to(receipt: &str, done: &str) -> Response {
    see_other(&format!("/staff/applications/{receipt}?done={done}"))
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    /// The status the page showed (so a change made meanwhile is not overwritten).
    #[serde(default)]
    from: String,
    /// Missing when no next status was chosen.
    #[serde(default)]
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
    let ui = signed.ui;
    let again = |target: &str, message: &str| Feedback {
        note: form.note.clone(),
        ..Feedback::problem(target, message)
    };
    let Some(to) = Status::parse(&form.to) else {
        let feedback = again(
            "to",
            ui.t("次の状況を選んでください。", "Choose the next status."),
        );
        return draw(&state, &signed, &receipt, feedback).await;
    };
    let Some(from) = Status::parse(&form.from) else {
        let message = ui.t(
            "画面が古くなっています。状況を確かめて、もう一度選んでください。",
            "The page was out of date. Check the status and choose again.",
        );
        return draw(&state, &signed, &receipt, again("to", message)).await;
    };
    if !loaded.workflow.allows(from, to) {
        let message = ui.t(
            "この手続では、その状況には進めません。",
            "This procedure has no such step.",
        );
        return draw(&state, &signed, &receipt, again("to", message)).await;
    }
    let note = match checked_text(ui, &form.note, to.is_refusal()) {
        Ok(note) => note,
        Err(_) if to.is_refusal() && form.note.trim().is_empty() => {
            let message = ui.t(
                "却下・不許可などの処分には理由が必要です（行政手続法第8条）。「申請者へのお知らせ」に理由を書いてください。",
                "A refusal needs its reasons (Administrative Procedure Act, art. 8): write them in the note to the applicant.",
            );
            return draw(&state, &signed, &receipt, again("note", message)).await;
        }
        Err(message) => return draw(&state, &signed, &receipt, again("note", &message)).await,
    };
    let mail = if form.notify.is_some() {
        status_notice(&state, &signed, &loaded, to, &note).await
    } else {
        None
    };
    if to.is_decision() {
        let proposal = Proposal {
            receipt_number: receipt.clone(),
            from,
            to,
            note,
            notify: form.notify.is_some(),
            route: loaded.route.clone(),
            department_ja: loaded.department_ja.clone(),
            mail,
        };
        let outcomes = state
            .store
            .propose_decisions(&signed.city.id, &[proposal], &approver(&signed))
            .await?;
        let done = match outcomes.first() {
            Some(Outcome::Awaiting { .. }) => "proposed",
            _ => "status",
        };
        return Ok(back_to(&receipt, done));
    }
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
    Ok(back_to(&receipt, "status"))
}

/// Who is acting, as the 決裁 route knows them.
pub(super) fn approver(signed: &Signed) -> Approver {
    Approver {
        email: signed.email().to_string(),
        role: signed.role(),
    }
}

/// The e-mail that tells the applicant of a new status; a refusal carries its 教示
/// (行政不服審査法 第82条).
pub(super) async fn status_notice(
    state: &AppState,
    signed: &Signed,
    loaded: &Loaded,
    to: Status,
    note: &str,
) -> Option<OutgoingMail> {
    let mut what = status_text(to);
    if to.is_refusal() {
        let appeal = crate::kit::texts::appeal_notice(state, &signed.city).await;
        what = Localized::new(
            format!("{}\n\n{}", what.ja, appeal.ja),
            format!("{}\n\n{}", what.en, appeal.en),
        );
    }
    applicant_mail(signed, loaded, &what, note)
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
    let body = match checked_text(signed.ui, &form.body, true) {
        Ok(body) => body,
        Err(message) => {
            let feedback = Feedback {
                message: form.body,
                ..Feedback::problem("message-body", &message)
            };
            return draw(&state, &signed, &receipt, feedback).await;
        }
    };
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
    Ok(back_to(&receipt, "message"))
}

/// An internal comment, seen only by staff.
pub(super) async fn comment(
    State(state): State<AppState>,
    signed: Signed,
    Path(receipt): Path<String>,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    load(&state, &signed, &receipt).await?;
    let body = match checked_text(signed.ui, &form.body, true) {
        Ok(body) => body,
        Err(message) => {
            let feedback = Feedback {
                comment: form.body,
                ..Feedback::problem("comment-body", &message)
            };
            return draw(&state, &signed, &receipt, feedback).await;
        }
    };
    state
        .store
        .add_comment(&signed.city.id, &receipt, signed.email(), &body)
        .await?;
    Ok(back_to(&receipt, "comment"))
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
            let message = signed.ui.t(
                "同じ課の職員を選んでください。",
                "Choose a member of your department.",
            );
            return draw(
                &state,
                &signed,
                &receipt,
                Feedback::problem("assignee", message),
            )
            .await;
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
    Ok(back_to(&receipt, "assign"))
}
