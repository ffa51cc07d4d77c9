//! Response bodies of the API (the shapes in the OpenAPI document).

use machi_core::applications::Status;
use machi_core::procedures::ProcedureDefinition;
use machi_store::{ApplicationView, ProcedureRecord};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::kit::Text;

/// The department that handles a procedure.
#[derive(Debug, Serialize, ToSchema)]
pub struct Department {
    pub code: String,
    pub name: Text,
}

/// A procedure in the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureSummary {
    pub id: String,
    pub name: Text,
    /// Reading of the Japanese name in katakana.
    pub kana: String,
    pub department: Department,
    /// online, counter or both.
    pub channel: String,
    /// Whether an application can be made online now.
    pub online: bool,
    pub fee_yen: Option<i64>,
    /// The fee is per unit of this answer (「1通300円」: the number of copies asked).
    pub fee_per: Option<String>,
    pub processing_days: Option<i64>,
    pub life_events: Vec<String>,
    pub summary: Text,
    /// The name in plain words, beside the legal name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_title: Option<Text>,
    /// For a search: the words of the query it matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
}

impl From<&ProcedureRecord> for ProcedureSummary {
    fn from(record: &ProcedureRecord) -> Self {
        let p: &ProcedureDefinition = &record.definition;
        Self {
            id: p.id.clone(),
            name: (&p.name).into(),
            kana: p.kana.clone(),
            department: Department {
                code: p.department.code.clone(),
                name: Text {
                    ja: p.department.ja.clone(),
                    en: p.department.en.clone(),
                },
            },
            channel: p.channel.as_str().to_string(),
            online: record.accepts_online(),
            fee_yen: p.fee_yen,
            fee_per: p.fee_per.clone(),
            processing_days: p.processing_days,
            life_events: p
                .life_events
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            summary: (&p.summary).into(),
            plain_title: p.plain_title.as_ref().map(Into::into),
            matched: Vec::new(),
        }
    }
}

/// A page of procedures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedurePage {
    pub items: Vec<ProcedureSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A procedure with everything a resident or client needs to apply.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureDetail {
    #[serde(flatten)]
    pub summary: ProcedureSummary,
    pub legal_basis: String,
    pub documents: Vec<Text>,
    pub keywords: Vec<String>,
    /// 手続棚卸: applications a year.
    pub yearly_volume: Option<i64>,
    /// 手続棚卸: share made online (0..1).
    pub online_share: Option<f64>,
    /// The current form, absent for counter-only procedures.
    pub form: Option<FormDocument>,
}

/// A versioned form: JSON Schema 2020-12, UI hints and the files it asks for.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormDocument {
    pub version: i64,
    #[schema(value_type = Object)]
    pub schema: Value,
    #[schema(value_type = Object)]
    pub ui: Value,
    #[schema(value_type = Vec<Object>)]
    pub attachments: Value,
}

/// The request body of a JSON application.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// Answers keyed by form field; validated against the form's schema after normalisation.
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, Value>,
}

/// What the resident gets back once the application is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationCreated {
    /// 受付番号.
    pub receipt_number: String,
    /// Secret for looking up the status; shown once (and again for a retry with the same Idempotency-Key).
    pub access_code: String,
    pub status: String,
    pub submitted_at: String,
    pub procedure_id: String,
    pub form_version: i64,
}

/// One step of an application's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// `status` for a change of status, `message` for a message from the department.
    pub kind: String,
    pub status: String,
    pub label: Text,
    pub note: Text,
    pub at: String,
    /// The 文書番号 of the decision this step carried out (承認, 却下 …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
}

/// A file attached to an application.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentInfo {
    pub field: String,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
}

/// An application's status and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationStatus {
    pub receipt_number: String,
    pub procedure_id: String,
    pub form_version: i64,
    pub status: String,
    pub status_label: Text,
    pub submitted_at: String,
    pub updated_at: String,
    /// The date (JST, `YYYY-MM-DD`) a decision is due: the 標準処理期間 counted in the city's
    /// 開庁日 from the day after submission, moved on by the 開庁日 a correction was with the
    /// applicant; none when the procedure sets no 標準処理期間.
    pub due_date: Option<String>,
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, Value>,
    pub history: Vec<HistoryEntry>,
    pub attachments: Vec<AttachmentInfo>,
}

fn label(status: Status) -> Text {
    (&status.label()).into()
}

impl From<ApplicationView> for ApplicationStatus {
    fn from(v: ApplicationView) -> Self {
        let due_date = v.due_date().map(|d| d.format("%Y-%m-%d").to_string());
        Self {
            receipt_number: v.receipt_number,
            procedure_id: v.procedure_id,
            form_version: v.form_version,
            status: v.status.as_str().to_string(),
            status_label: label(v.status),
            submitted_at: v.submitted_at.to_string(),
            updated_at: v.updated_at.to_string(),
            due_date,
            answers: v.answers,
            history: v
                .history
                .iter()
                .map(|e| HistoryEntry {
                    kind: if e.message { "message" } else { "status" }.to_string(),
                    status: e.status.as_str().to_string(),
                    label: label(e.status),
                    note: (&e.note).into(),
                    at: e.at.to_string(),
                    document_number: e.document_number.clone(),
                })
                .collect(),
            attachments: v
                .attachments
                .into_iter()
                .map(|a| AttachmentInfo {
                    field: a.field,
                    filename: a.filename,
                    media_type: a.media_type,
                    size_bytes: a.size_bytes,
                })
                .collect(),
        }
    }
}
