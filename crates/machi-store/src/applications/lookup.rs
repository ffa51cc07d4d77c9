//! 申請状況の照会: an application read back by receipt number and access code.

use machi_core::applications::Status;
use machi_core::procedures::Localized;
use serde_json::{Map, Value};
use sqlx::Row;

use crate::procedures::parse_json;
use crate::{Result, Store, StoreError};

/// An application as its resident may see it.
#[derive(Debug, Clone)]
pub struct ApplicationView {
    pub receipt_number: String,
    pub procedure_id: String,
    pub form_version: i64,
    pub status: Status,
    pub answers: Map<String, Value>,
    pub made_via: String,
    pub submitted_at: crate::Time,
    pub updated_at: crate::Time,
    /// The end of the 標準処理期間 (in 開庁日, see `crate::calendar`), when the procedure has one.
    pub due_at: Option<crate::Time>,
    pub history: Vec<StatusEvent>,
    pub attachments: Vec<StoredAttachment>,
}

impl ApplicationView {
    /// The JST date the decision is due, `YYYY-MM-DD`.
    pub fn due_date(&self) -> Option<chrono::NaiveDate> {
        self.due_at.map(|at| crate::calendar::jst_date(at.utc()))
    }
}

/// One step in an application's history.
#[derive(Debug, Clone)]
pub struct StatusEvent {
    pub status: Status,
    /// A message from staff without a change of status.
    pub message: bool,
    pub note: Localized,
    pub at: crate::Time,
    /// The 文書番号 of the decision this step carried out (承認, 却下 …).
    pub document_number: Option<String>,
}

/// A file attached to an application.
#[derive(Debug, Clone)]
pub struct StoredAttachment {
    pub field: String,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

fn status_of(text: &str) -> Result<Status> {
    Status::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown status '{text}'")))
}

impl Store {
    /// The application with this receipt number, only if `access_digest` matches its code.
    /// A wrong number and a wrong code look the same to the caller.
    /// An application found by the receipt number and access code a resident typed; any
    /// mismatch (a malformed number or code included) is the same `NotFound`, so a guess
    /// learns nothing.
    pub async fn application_by_access_code(
        &self,
        tenant: &str,
        receipt_number: &str,
        access_code: &str,
    ) -> Result<ApplicationView> {
        let not_found = || {
            StoreError::not_found(
                "受付番号または確認コードが正しくありません。",
                "no application matches this receipt number and access code",
            )
        };
        let (Some(receipt), Some(code)) = (
            machi_core::receipt::ReceiptNumber::parse(receipt_number),
            machi_core::receipt::AccessCode::parse(access_code),
        ) else {
            return Err(not_found());
        };
        self.application(tenant, receipt.as_str(), &code.digest())
            .await?
            .ok_or_else(not_found)
    }

    pub async fn application(
        &self,
        tenant: &str,
        receipt_number: &str,
        access_digest: &str,
    ) -> Result<Option<ApplicationView>> {
        let row = sqlx::query(
            "SELECT receipt_number, procedure_id, form_version, status, answers, made_via, submitted_at, updated_at, due_at \
             FROM applications WHERE tenant_id = $1 AND receipt_number = $2 AND access_code_sha256 = $3",
        )
        .bind(tenant)
        .bind(receipt_number)
        .bind(access_digest)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut view = ApplicationView {
            receipt_number: row.try_get("receipt_number")?,
            procedure_id: row.try_get("procedure_id")?,
            form_version: row.try_get("form_version")?,
            status: status_of(&row.try_get::<String, _>("status")?)?,
            answers: parse_json(&row.try_get::<String, _>("answers")?)?,
            made_via: row.try_get("made_via")?,
            submitted_at: row.try_get("submitted_at")?,
            updated_at: row.try_get("updated_at")?,
            due_at: row.try_get("due_at")?,
            history: Vec::new(),
            attachments: Vec::new(),
        };
        // Receipt is the first step of every history; later steps are application_events.
        view.history = vec![StatusEvent {
            status: Status::Received,
            message: false,
            note: Localized::default(),
            at: view.submitted_at,
            document_number: None,
        }];
        view.history
            .extend(self.history(tenant, receipt_number).await?);
        view.attachments = self.attachments(tenant, receipt_number).await?;
        Ok(Some(view))
    }

    async fn history(&self, tenant: &str, receipt_number: &str) -> Result<Vec<StatusEvent>> {
        let rows = sqlx::query(
            "SELECT status, kind, note_ja, note_en, created_at, document_number FROM application_events \
             WHERE tenant_id = $1 AND receipt_number = $2 ORDER BY id",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StatusEvent {
                    status: status_of(&row.try_get::<String, _>("status")?)?,
                    message: row.try_get::<String, _>("kind")? == "message",
                    note: Localized::new(
                        row.try_get::<String, _>("note_ja")?,
                        row.try_get::<String, _>("note_en")?,
                    ),
                    at: row.try_get("created_at")?,
                    document_number: row.try_get("document_number")?,
                })
            })
            .collect()
    }

    async fn attachments(
        &self,
        tenant: &str,
        receipt_number: &str,
    ) -> Result<Vec<StoredAttachment>> {
        let rows = sqlx::query(
            "SELECT field, filename, media_type, size_bytes, sha256 FROM attachments \
             WHERE tenant_id = $1 AND receipt_number = $2 ORDER BY field",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredAttachment {
                    field: row.try_get("field")?,
                    filename: row.try_get("filename")?,
                    media_type: row.try_get("media_type")?,
                    size_bytes: row.try_get("size_bytes")?,
                    sha256: row.try_get("sha256")?,
                })
            })
            .collect()
    }

    /// How many applications a city has (for metrics and tests).
    pub async fn count_applications(&self, tenant: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM applications WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
