//! 審査 (review): a department's inbox, an application as staff see it, and the changes staff
//! make — status, messages to the applicant, internal comments, assignment. Every change
//! commits together with its history row, its audit entry and the e-mail that tells the
//! applicant, so none of them can exist without the others.

use machi_core::applications::Status;
use machi_core::procedures::Localized;
use sqlx::Row;

use crate::applications::{index_answers, AnswersToIndex, ApplicationView, Seen};
use crate::audit::{AuditEntry, AuditedTx};
use crate::mail::OutgoingMail;
use crate::sql::{Param, Sql};
use crate::{now_text, Result, Store, StoreError};

mod decisions;
mod inbox;

pub use decisions::{Approver, Decision, DecisionState, DecisionStep, Outcome, Proposal};

pub use inbox::{Assignee, InboxItem, InboxQuery};

/// Most rows one inbox page or export batch returns.
pub const MAX_PAGE: i64 = 500;

/// An application as its department sees it.
#[derive(Debug, Clone)]
pub struct StaffApplication {
    pub view: ApplicationView,
    pub department_code: String,
    pub assignee: Option<String>,
    pub due_at: Option<crate::Time>,
    pub comments: Vec<Comment>,
}

/// An internal comment (never shown to the applicant).
#[derive(Debug, Clone)]
pub struct Comment {
    pub author: String,
    pub body: String,
    pub at: crate::Time,
}

/// A status change staff make.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub receipt_number: String,
    /// The status the member of staff saw; the change fails if it has moved on meanwhile.
    pub from: Status,
    pub to: Status,
    /// What the applicant reads with the change (may be empty).
    pub note: Localized,
    pub actor: String,
    pub mail: Option<OutgoingMail>,
}

impl StatusChange {
    /// Whether this change needs a 決裁 (see [`Store::propose_decisions`]) instead.
    pub fn is_decision(&self) -> bool {
        self.to.is_decision()
    }
}

fn status_of(text: &str) -> Result<Status> {
    Status::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown status '{text}'")))
}

impl Store {
    /// An application with everything staff need, whatever its department (the caller checks
    /// the department before showing it).
    pub async fn staff_application(
        &self,
        tenant: &str,
        receipt_number: &str,
    ) -> Result<Option<StaffApplication>> {
        let row = sqlx::query(
            "SELECT department_code, assignee, due_at, access_code_sha256 FROM applications \
             WHERE tenant_id = $1 AND receipt_number = $2",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let digest: String = row.try_get("access_code_sha256")?;
        let Some(view) = self.application(tenant, receipt_number, &digest).await? else {
            return Ok(None);
        };
        Ok(Some(StaffApplication {
            view,
            department_code: row.try_get("department_code")?,
            assignee: row.try_get("assignee")?,
            due_at: row.try_get("due_at")?,
            comments: self.comments(tenant, receipt_number).await?,
        }))
    }

    /// Just the department an application belongs to, for access checks.
    pub async fn application_department(
        &self,
        tenant: &str,
        receipt_number: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT department_code FROM applications WHERE tenant_id = $1 AND receipt_number = $2",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn comments(&self, tenant: &str, receipt_number: &str) -> Result<Vec<Comment>> {
        let rows = sqlx::query(
            "SELECT author, body, created_at FROM application_comments \
             WHERE tenant_id = $1 AND receipt_number = $2 ORDER BY id",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Comment {
                    author: row.try_get("author")?,
                    body: row.try_get("body")?,
                    at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Applies status changes (one, or a bulk action) in one transaction. A change whose
    /// application has moved on since the member of staff looked fails the whole action.
    pub async fn change_status(&self, tenant: &str, changes: &[StatusChange]) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        for change in changes {
            apply_status_change(&mut tx, tenant, change).await?;
        }
        tx.commit().await
    }

    /// The applicant's corrected application (補正): its answers, and its files as the corrected
    /// form carries them (kept, replaced or removed), in one transaction; `note` says what
    /// changed, for the history staff read. False when no correction was asked for.
    pub async fn resubmit(
        &self,
        tenant: &str,
        receipt_number: &str,
        access_digest: &str,
        answers: &serde_json::Map<String, serde_json::Value>,
        files: &[crate::NewAttachment],
        note: &Localized,
    ) -> Result<bool> {
        let mut tx = self.begin_audited(tenant).await?;
        let updated = sqlx::query(
            "UPDATE applications SET answers = $1, status = 'resubmitted', updated_at = $2 \
             WHERE tenant_id = $3 AND receipt_number = $4 AND access_code_sha256 = $5 \
             AND status = 'correction_requested'",
        )
        .bind(serde_json::Value::Object(answers.clone()).to_string())
        .bind(now_text())
        .bind(tenant)
        .bind(receipt_number)
        .bind(access_digest)
        .execute(&mut *tx.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let corrected = [AnswersToIndex {
            tenant,
            receipt_number,
            answers,
        }];
        index_answers(&mut tx.tx, self.backend, &corrected, Seen::Maybe).await?;
        self.stop_the_clock(&mut tx.tx, tenant, receipt_number)
            .await?;
        let before: Vec<(String, String)> = sqlx::query_as(
            "SELECT field, sha256 FROM attachments WHERE tenant_id = $1 AND receipt_number = $2",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_all(&mut *tx.tx)
        .await?;
        sqlx::query("DELETE FROM attachments WHERE tenant_id = $1 AND receipt_number = $2")
            .bind(tenant)
            .bind(receipt_number)
            .execute(&mut *tx.tx)
            .await?;
        for file in files {
            sqlx::query(
                "INSERT INTO attachments (tenant_id, receipt_number, field, filename, media_type, \
                 size_bytes, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant)
            .bind(receipt_number)
            .bind(&file.field)
            .bind(&file.filename)
            .bind(&file.media_type)
            .bind(file.file.size_bytes as i64)
            .bind(&file.file.sha256)
            .bind(now_text())
            .execute(&mut *tx.tx)
            .await?;
        }
        insert_event(
            &mut tx,
            tenant,
            receipt_number,
            Status::Resubmitted.as_str(),
            "status",
            note,
            "resident",
        )
        .await?;
        let after: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.field.as_str(), f.file.sha256.as_str()))
            .collect();
        tx.append(&AuditEntry::new(
            "resident",
            "application.resubmit",
            receipt_number,
            serde_json::json!({ "fields": answers.len(), "files_before": before, "files_after": after }),
        ))
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// 補正 stops the clock (行政手続法 第6条 practice): the 開庁日 the correction spent with the
    /// resident are added to the due date.
    async fn stop_the_clock(
        &self,
        conn: &mut sqlx::AnyConnection,
        tenant: &str,
        receipt_number: &str,
    ) -> Result<()> {
        let asked: Option<String> = sqlx::query_scalar(
            "SELECT MAX(created_at) FROM application_events WHERE tenant_id = $1 AND receipt_number = $2 \
             AND status = 'correction_requested'",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_one(&mut *conn)
        .await?;
        let due: Option<String> = sqlx::query_scalar(
            "SELECT due_at FROM applications WHERE tenant_id = $1 AND receipt_number = $2",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_one(&mut *conn)
        .await?;
        let (Some(asked), Some(due)) = (
            asked.as_deref().and_then(crate::Time::parse),
            due.as_deref().and_then(crate::Time::parse),
        ) else {
            return Ok(());
        };
        let calendar = self.calendars.get(conn, tenant).await?;
        let stopped = calendar.open_days_between(
            crate::calendar::jst_date(asked.utc()),
            crate::calendar::jst_date(chrono::Utc::now()),
        );
        if stopped == 0 {
            return Ok(());
        }
        let moved = calendar.add_open_days(crate::calendar::jst_date(due.utc()), stopped);
        sqlx::query(
            "UPDATE applications SET due_at = $1 WHERE tenant_id = $2 AND receipt_number = $3",
        )
        .bind(crate::calendar::end_of(moved))
        .bind(tenant)
        .bind(receipt_number)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// A message to the applicant without a change of status.
    pub async fn message_applicant(
        &self,
        tenant: &str,
        receipt_number: &str,
        note: &Localized,
        actor: &str,
        mail: Option<&OutgoingMail>,
    ) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        let status: String = sqlx::query_scalar(
            "SELECT status FROM applications WHERE tenant_id = $1 AND receipt_number = $2",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_one(&mut *tx.tx)
        .await?;
        insert_event(
            &mut tx,
            tenant,
            receipt_number,
            &status,
            "message",
            note,
            actor,
        )
        .await?;
        if let Some(mail) = mail {
            crate::deliveries::enqueue_direct(&mut tx.tx, tenant, mail).await?;
        }
        tx.append(&AuditEntry::new(
            actor,
            "application.message",
            receipt_number,
            serde_json::json!({ "emailed": mail.is_some() }),
        ))
        .await?;
        tx.commit().await
    }

    /// An internal comment.
    pub async fn add_comment(
        &self,
        tenant: &str,
        receipt_number: &str,
        author: &str,
        body: &str,
    ) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        sqlx::query(
            "INSERT INTO application_comments (tenant_id, receipt_number, author, body, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(receipt_number)
        .bind(author)
        .bind(body)
        .bind(now_text())
        .execute(&mut *tx.tx)
        .await?;
        tx.append(&AuditEntry::new(
            author,
            "application.comment",
            receipt_number,
            serde_json::json!({ "characters": body.chars().count() }),
        ))
        .await?;
        tx.commit().await
    }

    /// Gives applications to a member of staff (or to nobody).
    pub async fn assign(
        &self,
        tenant: &str,
        receipt_numbers: &[String],
        assignee: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        for receipt in receipt_numbers {
            sqlx::query(
                "UPDATE applications SET assignee = $1 WHERE tenant_id = $2 AND receipt_number = $3",
            )
            .bind(assignee)
            .bind(tenant)
            .bind(receipt)
            .execute(&mut *tx.tx)
            .await?;
            tx.append(&AuditEntry::new(
                actor,
                "application.assign",
                receipt,
                serde_json::json!({ "assignee": assignee }),
            ))
            .await?;
        }
        tx.commit().await
    }
}

async fn apply_status_change(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    change: &StatusChange,
) -> Result<()> {
    if change.is_decision() {
        return Err(StoreError::invalid(
            "承認・却下などの処分は決裁ルートに沿って行います（起案してください）。",
            "A decision follows the procedure's approval route: propose it.",
        ));
    }
    carry_out(tx, tenant, change, None).await
}

/// Moves an application to its new status with the history row, the e-mail and the audit
/// entry; `document_number` when the change carries out a decision (決裁).
async fn carry_out(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    change: &StatusChange,
    document_number: Option<&str>,
) -> Result<()> {
    decisions::refuse_while_pending(tx, tenant, &change.receipt_number).await?;
    let updated = sqlx::query(
        "UPDATE applications SET status = $1, updated_at = $2 \
         WHERE tenant_id = $3 AND receipt_number = $4 AND status = $5",
    )
    .bind(change.to.as_str())
    .bind(now_text())
    .bind(tenant)
    .bind(&change.receipt_number)
    .bind(change.from.as_str())
    .execute(&mut *tx.tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(moved_on(change));
    }
    insert_decision_event(
        tx,
        tenant,
        &change.receipt_number,
        change.to.as_str(),
        "status",
        &change.note,
        &change.actor,
        document_number,
    )
    .await?;
    if let Some(mail) = &change.mail {
        crate::deliveries::enqueue_direct(&mut tx.tx, tenant, mail).await?;
    }
    tx.append(&AuditEntry::new(
        &change.actor,
        "application.status",
        &change.receipt_number,
        serde_json::json!({
            "from": change.from.as_str(),
            "to": change.to.as_str(),
            "emailed": change.mail.is_some(),
            "document_number": document_number,
        }),
    ))
    .await
}

/// The application has moved on since the member of staff looked at it.
fn moved_on(change: &StatusChange) -> StoreError {
    StoreError::conflict(
        format!(
            "申請 {} は他の職員が先に状態を変更しました。再読み込みしてからやり直してください。",
            change.receipt_number
        ),
        format!(
            "application {} is no longer '{}': someone changed it meanwhile; reload and try again",
            change.receipt_number,
            change.from.as_str()
        ),
    )
}
pub(crate) async fn insert_event(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    receipt_number: &str,
    status: &str,
    kind: &str,
    note: &Localized,
    actor: &str,
) -> Result<()> {
    insert_decision_event(tx, tenant, receipt_number, status, kind, note, actor, None).await
}

/// [`insert_event`] for a step that carried out a decision with its 文書番号.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_decision_event(
    tx: &mut AuditedTx<'_>,
    tenant: &str,
    receipt_number: &str,
    status: &str,
    kind: &str,
    note: &Localized,
    actor: &str,
    document_number: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO application_events (tenant_id, receipt_number, status, note_ja, note_en, created_at, kind, actor, document_number) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tenant)
    .bind(receipt_number)
    .bind(status)
    .bind(&note.ja)
    .bind(&note.en)
    .bind(now_text())
    .bind(kind)
    .bind(actor)
    .bind(document_number)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

/// Where an application stands, for checking a bulk action before it is applied.
#[derive(Debug, Clone)]
pub struct ApplicationState {
    pub receipt_number: String,
    pub procedure_id: String,
    pub department_code: String,
    pub status: Status,
}

impl Store {
    /// The states of these applications (missing receipt numbers are left out).
    pub async fn application_states(
        &self,
        tenant: &str,
        receipt_numbers: &[String],
    ) -> Result<Vec<ApplicationState>> {
        let mut states = Vec::with_capacity(receipt_numbers.len());
        for receipt in receipt_numbers {
            let row = sqlx::query(
                "SELECT receipt_number, procedure_id, department_code, status FROM applications \
                 WHERE tenant_id = $1 AND receipt_number = $2",
            )
            .bind(tenant)
            .bind(receipt)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                states.push(ApplicationState {
                    receipt_number: row.try_get("receipt_number")?,
                    procedure_id: row.try_get("procedure_id")?,
                    department_code: row.try_get("department_code")?,
                    status: status_of(&row.try_get::<String, _>("status")?)?,
                });
            }
        }
        Ok(states)
    }
}

impl Store {
    /// The form version and answers of each application, for exports (by receipt number).
    pub async fn answers_of(
        &self,
        tenant: &str,
        receipt_numbers: &[String],
    ) -> Result<std::collections::HashMap<String, (i64, serde_json::Map<String, serde_json::Value>)>>
    {
        let mut found = std::collections::HashMap::with_capacity(receipt_numbers.len());
        for chunk in receipt_numbers.chunks(MAX_PAGE as usize) {
            let mut sql = Sql::new(
                self.backend,
                "SELECT receipt_number, form_version, answers FROM applications WHERE tenant_id = ",
            );
            sql.bind(Param::Text(tenant.into()));
            sql.push(" AND receipt_number IN (");
            for (i, receipt) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Param::Text(receipt.clone()));
            }
            sql.push(")");
            let rows = sqlx::query_with(sql.text(), sql.arguments())
                .fetch_all(&self.pool)
                .await?;
            for row in rows {
                let answers = crate::procedures::parse_json(&row.try_get::<String, _>("answers")?)?;
                found.insert(
                    row.try_get("receipt_number")?,
                    (row.try_get("form_version")?, answers),
                );
            }
        }
        Ok(found)
    }
}
