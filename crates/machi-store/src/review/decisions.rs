//! 決裁: decisions on applications proposed (起案) and approved along the procedure's route
//! (see `machi_core::decisions`). A decision whose route is complete is carried out in the
//! same transaction as its last approval: the status change, its 文書番号, the history row, the
//! e-mail and the audit entries commit together or not at all.

use machi_core::applications::Status;
use machi_core::decisions::{may_approve, DecisionRoute};
use machi_core::procedures::Localized;
use machi_core::staff::Role;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{carry_out, StatusChange};
use crate::audit::{AuditEntry, AuditedTx};
use crate::mail::OutgoingMail;
use crate::{now_text, Result, Store, StoreError};

/// A decision a member of staff proposes.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub receipt_number: String,
    /// The status the member of staff saw.
    pub from: Status,
    pub to: Status,
    /// What the applicant reads with the decision (its reasons, for a refusal).
    pub note: String,
    /// Whether the applicant is e-mailed when the decision is made.
    pub notify: bool,
    pub route: DecisionRoute,
    /// The department's name, for the 文書番号.
    pub department_ja: String,
    /// The e-mail to send should the proposal decide it there and then.
    pub mail: Option<OutgoingMail>,
}

/// Who proposes or approves.
#[derive(Debug, Clone)]
pub struct Approver {
    pub email: String,
    pub role: Role,
}

/// One approval along the route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionStep {
    pub role: Role,
    pub actor: String,
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionState {
    Pending,
    Decided,
    /// 差戻し: sent back to the proposer; the application is as it was.
    Returned,
}

impl DecisionState {
    fn as_str(self) -> &'static str {
        match self {
            DecisionState::Pending => "pending",
            DecisionState::Decided => "decided",
            DecisionState::Returned => "returned",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        [Self::Pending, Self::Decided, Self::Returned]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown decision state '{text}'")))
    }
}

/// A decision as proposed, and how far along its route it is.
#[derive(Debug, Clone)]
pub struct Decision {
    pub id: i64,
    pub receipt_number: String,
    pub from: Status,
    pub to: Status,
    pub note: String,
    pub notify: bool,
    pub route: DecisionRoute,
    pub steps: Vec<DecisionStep>,
    pub state: DecisionState,
    pub proposed_by: String,
    pub proposed_at: crate::Time,
    pub document_number: Option<String>,
    pub closed_by: Option<String>,
    pub return_note: String,
}

impl Decision {
    /// The role whose approval is awaited, while pending.
    pub fn awaiting(&self) -> Option<Role> {
        if self.state != DecisionState::Pending {
            return None;
        }
        self.route.0.get(self.steps.len()).copied()
    }

    /// Whether `who` may approve or return it now: the awaited role, and nobody twice (the
    /// proposer approves no later step of their own proposal).
    pub fn may_be_approved_by(&self, who: &Approver) -> bool {
        let Some(step) = self.awaiting() else {
            return false;
        };
        may_approve(who.role, step)
            && who.email != self.proposed_by
            && !self.steps.iter().any(|s| s.actor == who.email)
    }
}

/// What became of a proposal or an approval.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Carried out, with its 文書番号.
    Decided { document_number: String },
    /// Waiting for the approval of this role.
    Awaiting { role: Role },
}

impl Store {
    /// Proposes decisions (one, or a bulk action) in one transaction. The proposer's own
    /// approval covers the route's first step when their role takes it; a decision whose route
    /// is then complete is made at once.
    pub async fn propose_decisions(
        &self,
        tenant: &str,
        proposals: &[Proposal],
        by: &Approver,
    ) -> Result<Vec<Outcome>> {
        let mut tx = self.begin_audited(tenant).await?;
        let mut outcomes = Vec::with_capacity(proposals.len());
        for proposal in proposals {
            outcomes.push(propose(&mut tx, tenant, proposal, by).await?);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Approves the awaited step of a pending decision; the last step carries it out (`mail`
    /// is the applicant's notice then).
    pub async fn approve_decision(
        &self,
        tenant: &str,
        decision_id: i64,
        by: &Approver,
        department_ja: &str,
        mail: Option<OutgoingMail>,
    ) -> Result<Outcome> {
        let mut tx = self.begin_audited(tenant).await?;
        let decision = pending_for(&mut tx, tenant, decision_id, by).await?;
        let mut steps = decision.steps.clone();
        steps.push(step_of(by, decision.awaiting().unwrap_or(by.role)));
        tx.append(&AuditEntry::new(
            &by.email,
            "application.decision.approve",
            &decision.receipt_number,
            serde_json::json!({ "decision": decision.id, "step": steps.len(), "role": by.role.as_str() }),
        ))
        .await?;
        let outcome = advance(&mut tx, tenant, &decision, steps, department_ja, mail).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// 差戻し: sends a pending decision back to its proposer with the reason; the application
    /// stays as it was.
    pub async fn return_decision(
        &self,
        tenant: &str,
        decision_id: i64,
        by: &Approver,
        reason: &str,
    ) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        let decision = pending_for(&mut tx, tenant, decision_id, by).await?;
        sqlx::query(
            "UPDATE decisions SET state = 'returned', closed_by = $1, closed_at = $2, return_note = $3 \
             WHERE tenant_id = $4 AND id = $5",
        )
        .bind(&by.email)
        .bind(now_text())
        .bind(reason)
        .bind(tenant)
        .bind(decision.id)
        .execute(&mut *tx.tx)
        .await?;
        tx.append(&AuditEntry::new(
            &by.email,
            "application.decision.return",
            &decision.receipt_number,
            serde_json::json!({ "decision": decision.id, "characters": reason.chars().count() }),
        ))
        .await?;
        tx.commit().await
    }

    /// Every decision on an application, oldest first.
    pub async fn decisions(&self, tenant: &str, receipt_number: &str) -> Result<Vec<Decision>> {
        let rows = sqlx::query(&format!(
            "{SELECT_DECISION} WHERE tenant_id = $1 AND receipt_number = $2 ORDER BY id"
        ))
        .bind(tenant)
        .bind(receipt_number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decision_of).collect()
    }

    /// Decisions waiting for someone with `role` (in `department`, for department roles),
    /// for the inbox.
    pub async fn decisions_awaiting(
        &self,
        tenant: &str,
        by: &Approver,
        department: Option<&str>,
    ) -> Result<Vec<Decision>> {
        let rows = sqlx::query(&format!(
            "{SELECT_DECISION} WHERE tenant_id = $1 AND state = 'pending' AND ($2 = '' OR \
             receipt_number IN (SELECT receipt_number FROM applications WHERE tenant_id = $1 \
             AND department_code = $2)) ORDER BY id LIMIT 500"
        ))
        .bind(tenant)
        .bind(department.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        let all: Vec<Decision> = rows.iter().map(decision_of).collect::<Result<_>>()?;
        Ok(all
            .into_iter()
            .filter(|d| d.may_be_approved_by(by))
            .collect())
    }
}

const SELECT_DECISION: &str = "SELECT id, receipt_number, from_status, to_status, note, notify, \
     route, steps, state, proposed_by, proposed_at, document_number, closed_by, return_note \
     FROM decisions";

fn decision_of(row: &sqlx::any::AnyRow) -> Result<Decision> {
    let status = |column: &str| -> Result<Status> {
        let text: String = row.try_get(column)?;
        Status::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("unknown status '{text}'")))
    };
    Ok(Decision {
        id: row.try_get("id")?,
        receipt_number: row.try_get("receipt_number")?,
        from: status("from_status")?,
        to: status("to_status")?,
        note: row.try_get("note")?,
        notify: row.try_get::<i64, _>("notify")? != 0,
        route: json_column(row, "route")?,
        steps: json_column(row, "steps")?,
        state: DecisionState::parse(&row.try_get::<String, _>("state")?)?,
        proposed_by: row.try_get("proposed_by")?,
        proposed_at: row.try_get("proposed_at")?,
        document_number: row.try_get("document_number")?,
        closed_by: row.try_get("closed_by")?,
        return_note: row.try_get("return_note")?,
    })
}

fn json_column<T: serde::de::DeserializeOwned>(row: &sqlx::any::AnyRow, column: &str) -> Result<T> {
    serde_json::from_str(&row.try_get::<String, _>(column)?)
        .map_err(|e| StoreError::Corrupt(format!("decisions.{column}: {e}")))
}

fn step_of(by: &Approver, role: Role) -> DecisionStep {
    DecisionStep {
        role,
        actor: by.email.clone(),
        at: now_text(),
    }
}

async fn propose(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    proposal: &Proposal,
    by: &Approver,
) -> Result<Outcome> {
    refuse_while_pending(tx, tenant, &proposal.receipt_number).await?;
    let steps: Vec<DecisionStep> = proposal
        .route
        .0
        .iter()
        .take(proposal.route.covered_by_proposer(by.role))
        .map(|role| step_of(by, *role))
        .collect();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO decisions (tenant_id, receipt_number, from_status, to_status, note, notify, \
         route, steps, state, proposed_by, proposed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10) RETURNING id",
    )
    .bind(tenant)
    .bind(&proposal.receipt_number)
    .bind(proposal.from.as_str())
    .bind(proposal.to.as_str())
    .bind(&proposal.note)
    .bind(i64::from(proposal.notify))
    .bind(serde_json::to_string(&proposal.route).unwrap_or_default())
    .bind("[]")
    .bind(&by.email)
    .bind(now_text())
    .fetch_one(&mut *tx.tx)
    .await?;
    tx.append(&AuditEntry::new(
        &by.email,
        "application.decision.propose",
        &proposal.receipt_number,
        serde_json::json!({
            "decision": id,
            "from": proposal.from.as_str(),
            "to": proposal.to.as_str(),
            "route": proposal.route,
        }),
    ))
    .await?;
    let decision = load(tx, tenant, id).await?;
    advance(
        tx,
        tenant,
        &decision,
        steps,
        &proposal.department_ja,
        proposal.mail.clone(),
    )
    .await
}

/// Records the steps taken; when the route is complete, carries the decision out.
async fn advance(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    decision: &Decision,
    steps: Vec<DecisionStep>,
    department_ja: &str,
    mail: Option<OutgoingMail>,
) -> Result<Outcome> {
    let complete = steps.len() >= decision.route.0.len();
    let awaiting = decision.route.0.get(steps.len()).copied();
    let steps_json = serde_json::to_string(&steps).unwrap_or_default();
    let Some(last) = steps.last().filter(|_| complete) else {
        sqlx::query("UPDATE decisions SET steps = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(&steps_json)
            .bind(tenant)
            .bind(decision.id)
            .execute(&mut *tx.tx)
            .await?;
        return Ok(Outcome::Awaiting {
            role: awaiting.unwrap_or(Role::Manager),
        });
    };
    let number = next_document_number(tx, tenant, &decision.receipt_number, department_ja).await?;
    sqlx::query(
        "UPDATE decisions SET steps = $1, state = 'decided', document_number = $2, closed_by = $3, \
         closed_at = $4 WHERE tenant_id = $5 AND id = $6",
    )
    .bind(&steps_json)
    .bind(&number)
    .bind(&last.actor)
    .bind(now_text())
    .bind(tenant)
    .bind(decision.id)
    .execute(&mut *tx.tx)
    .await?;
    let change = StatusChange {
        receipt_number: decision.receipt_number.clone(),
        from: decision.from,
        to: decision.to,
        note: Localized::new(decision.note.clone(), ""),
        actor: last.actor.clone(),
        mail: mail.map(|mail| with_document_number(mail, &number)),
    };
    carry_out(tx, tenant, &change, Some(&number)).await?;
    Ok(Outcome::Decided {
        document_number: number,
    })
}

/// The notice of a decision names its 文書番号 first, as a 通知書 does.
fn with_document_number(mail: OutgoingMail, number: &str) -> OutgoingMail {
    OutgoingMail {
        body: format!("文書番号 / Document number: {number}\n\n{}", mail.body),
        ..mail
    }
}

/// The next 文書番号 of the application's department in this 年度.
async fn next_document_number(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    receipt_number: &str,
    department_ja: &str,
) -> Result<String> {
    let department: String = sqlx::query_scalar(
        "SELECT department_code FROM applications WHERE tenant_id = $1 AND receipt_number = $2",
    )
    .bind(tenant)
    .bind(receipt_number)
    .fetch_one(&mut *tx.tx)
    .await?;
    let year = machi_core::wareki::fiscal_year(machi_core::wareki::today_jst());
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO document_counters (tenant_id, department_code, fiscal_year, last) \
         VALUES ($1, $2, $3, 1) ON CONFLICT (tenant_id, department_code, fiscal_year) \
         DO UPDATE SET last = document_counters.last + 1 RETURNING last",
    )
    .bind(tenant)
    .bind(&department)
    .bind(i64::from(year))
    .fetch_one(&mut *tx.tx)
    .await?;
    let name = if department_ja.is_empty() {
        department.as_str()
    } else {
        department_ja
    };
    Ok(machi_core::decisions::document_number(year, name, last))
}

async fn load(tx: &mut AuditedTx<'_>, tenant: &str, id: i64) -> Result<Decision> {
    let row = sqlx::query(&format!(
        "{SELECT_DECISION} WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *tx.tx)
    .await?
    .ok_or_else(|| StoreError::not_found("その決裁はありません。", "No such decision."))?;
    decision_of(&row)
}

/// The pending decision `id`, if `by` may act on it now.
async fn pending_for(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    id: i64,
    by: &Approver,
) -> Result<Decision> {
    let decision = load(tx, tenant, id).await?;
    if decision.state != DecisionState::Pending {
        return Err(StoreError::conflict(
            "この決裁はすでに終わっています。再読み込みしてください。",
            "This decision is no longer pending; reload the page.",
        ));
    }
    if !decision.may_be_approved_by(by) {
        return Err(StoreError::invalid(
            "この決裁の次の段階を承認できるのは、ルートの次の役割の、まだ承認していない職員です。",
            "Only someone of the route's next role who has not yet approved it may act on this decision.",
        ));
    }
    Ok(decision)
}

/// Nothing else changes an application while a decision on it is on its route.
pub(super) async fn refuse_while_pending(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    receipt_number: &str,
) -> Result<()> {
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM decisions WHERE tenant_id = $1 AND receipt_number = $2 \
         AND state = 'pending'",
    )
    .bind(tenant)
    .bind(receipt_number)
    .fetch_one(&mut *tx.tx)
    .await?;
    if pending > 0 {
        return Err(StoreError::conflict(
            format!("申請 {receipt_number} は決裁中です。決裁が終わるか差し戻されるまで変更できません。"),
            format!("Application {receipt_number} has a decision awaiting approval; it cannot change until that is approved or returned."),
        ));
    }
    Ok(())
}
