//! 決裁 on the application's page: the route that decides, the decision on its way (who
//! proposed it, who approved, whose approval is awaited), and the approver's buttons —
//! 決裁する (approve the step; the last step carries the decision out with its 文書番号) and
//! 差し戻す (send it back with a reason).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use machi_store::review::{Decision, DecisionState, Outcome};
use serde::Deserialize;

use super::actions::{approver, back_to, checked_text, status_notice};
use super::application::{draw, load, Feedback, Loaded};
use crate::kit::{jst_text, ApiError, PageError, Signed, Ui};
use crate::AppState;

/// What the page shows of 決裁.
pub(super) struct DecisionPanel {
    /// 「所属長専決」.
    pub(super) route: String,
    /// Whether proposing a decision decides it at once for the signed-in member of staff.
    pub(super) decides_alone: bool,
    pub(super) pending: Option<PendingView>,
    /// Made and returned decisions: (what, 文書番号 or 差戻し, steps, closed by).
    pub(super) past: Vec<(String, String, String)>,
}

pub(super) struct PendingView {
    pub(super) id: i64,
    /// The status it would set.
    pub(super) to: String,
    pub(super) note: String,
    pub(super) proposed: String,
    /// (role, who, when) of the approvals so far.
    pub(super) steps: Vec<(String, String, String)>,
    pub(super) awaiting: String,
    /// Whether the signed-in member of staff is the one awaited.
    pub(super) mine: bool,
}

pub(super) async fn panel(
    state: &AppState,
    signed: &Signed,
    loaded: &Loaded,
) -> Result<DecisionPanel, PageError> {
    let ui = signed.ui;
    let receipt = &loaded.application.view.receipt_number;
    let decisions = state.store.decisions(&signed.city.id, receipt).await?;
    let me = approver(signed);
    let label = |d: &Decision| status_label(ui, loaded, d.to);
    let pending = decisions
        .iter()
        .find(|d| d.state == DecisionState::Pending)
        .map(|d| PendingView {
            id: d.id,
            to: label(d),
            note: d.note.clone(),
            proposed: format!("{} {}", d.proposed_by, jst_text(d.proposed_at)),
            steps: steps_of(ui, d),
            awaiting: d
                .awaiting()
                .map(|role| ui.l(&role.label()).to_string())
                .unwrap_or_default(),
            mine: d.may_be_approved_by(&me),
        });
    let past = decisions
        .iter()
        .filter(|d| d.state != DecisionState::Pending)
        .map(|d| {
            let outcome = match (&d.state, &d.document_number) {
                (DecisionState::Decided, Some(number)) => number.clone(),
                _ => format!(
                    "{}: {}",
                    ui.t("差戻し", "Returned"),
                    if d.return_note.is_empty() {
                        "-"
                    } else {
                        &d.return_note
                    }
                ),
            };
            let steps = steps_of(ui, d)
                .into_iter()
                .map(|(role, who, at)| format!("{role} {who} {at}"))
                .collect::<Vec<_>>()
                .join(" → ");
            (
                label(d),
                outcome,
                format!("{} {}: {steps}", ui.t("起案", "Proposed by"), d.proposed_by),
            )
        })
        .collect();
    Ok(DecisionPanel {
        route: ui.l(&loaded.route.label()).to_string(),
        decides_alone: loaded.route.covered_by_proposer(signed.role()) >= loaded.route.0.len(),
        pending,
        past,
    })
}

fn status_label(ui: Ui, loaded: &Loaded, to: machi_core::applications::Status) -> String {
    match (&loaded.refusal, to.is_refusal()) {
        (Some(refusal), true) => ui.l(refusal).to_string(),
        _ => ui.l(&to.label()).to_string(),
    }
}

fn steps_of(ui: Ui, decision: &Decision) -> Vec<(String, String, String)> {
    decision
        .steps
        .iter()
        .map(|s| {
            let at = machi_store::Time::parse(&s.at)
                .map(jst_text)
                .unwrap_or_default();
            (ui.l(&s.role.label()).to_string(), s.actor.clone(), at)
        })
        .collect()
}

#[derive(Deserialize)]
pub(super) struct StepForm {
    /// `approve` or `return`.
    #[serde(default)]
    action: String,
    /// Why it is returned (差戻し).
    #[serde(default)]
    reason: String,
}

/// 決裁する or 差し戻す: the awaited approver acts on a pending decision.
pub(super) async fn act(
    State(state): State<AppState>,
    signed: Signed,
    Path((receipt, id)): Path<(String, i64)>,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &signed, &receipt).await?;
    let decisions = state.store.decisions(&signed.city.id, &receipt).await?;
    let decision = decisions.iter().find(|d| d.id == id).ok_or_else(|| {
        PageError::from(ApiError::not_found(
            signed
                .ui
                .t("その決裁はありません。", "There is no such decision."),
        ))
    })?;
    let me = approver(&signed);
    signed.require(decision.may_be_approved_by(&me))?;
    match form.action.as_str() {
        "approve" => {
            let mail = if decision.notify {
                status_notice(&state, &signed, &loaded, decision.to, &decision.note).await
            } else {
                None
            };
            let outcome = state
                .store
                .approve_decision(&signed.city.id, id, &me, &loaded.department_ja, mail)
                .await?;
            Ok(back_to(
                &receipt,
                match outcome {
                    Outcome::Decided { .. } => "decided",
                    Outcome::Awaiting { .. } => "approved",
                },
            ))
        }
        "return" => {
            let reason = match checked_text(signed.ui, &form.reason, true) {
                Ok(reason) => reason,
                Err(message) => {
                    let feedback = Feedback::problem("decision-reason", &message);
                    return draw(&state, &signed, &receipt, feedback).await;
                }
            };
            state
                .store
                .return_decision(&signed.city.id, id, &me, &reason)
                .await?;
            Ok(back_to(&receipt, "returned"))
        }
        other => Err(PageError::from(ApiError::bad_request(format!(
            "unknown action '{other}'"
        )))),
    }
}
