//! 監査ログの検索と出力 (auditors and administrators). Reading the log is itself logged.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use machi_core::text::spreadsheet_cell;
use machi_store::audit::{AuditQuery, AuditRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::kit::{jst_stored, render, ApiError, Chrome, PageError, Signed};
use crate::AppState;

const PAGE_SIZE: i64 = 100;
const EXPORT_LIMIT: i64 = 100_000;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct AuditParams {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    actor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    subject: String,
    /// A date `YYYY-MM-DD` (JST is close enough for a search box; the rows show exact times).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    until: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<i64>,
}

impl AuditParams {
    fn query(&self, signed: &Signed, limit: i64) -> Result<AuditQuery, PageError> {
        for date in [&self.from, &self.until] {
            if !date.is_empty() && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                return Err(PageError::from(ApiError::bad_request(signed.ui.t(
                    "日付は 2026-11-25 の形で入力してください。",
                    "Enter dates as 2026-11-25.",
                ))));
            }
        }
        Ok(AuditQuery {
            actor: self.actor.trim().to_lowercase(),
            action: self.action.trim().to_string(),
            subject: self.subject.trim().to_string(),
            from: self.from.clone(),
            until: self.until.clone(),
            before_seq: self.before,
            limit,
        })
    }
}

struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "staff_audit.html")]
struct AuditPage {
    chrome: Chrome,
    params: AuditParams,
    rows: Vec<Row>,
    next: Option<String>,
    export_query: String,
}

async fn entries(
    state: &AppState,
    signed: &Signed,
    params: &AuditParams,
    limit: i64,
) -> Result<Vec<AuditRecord>, PageError> {
    signed.require(signed.role().reads_audit_log())?;
    let query = params.query(signed, limit)?;
    let records = state.store.audit_entries(&signed.city.id, &query).await?;
    signed.audit(state, "audit.read", "audit_log", json!({ "rows": records.len(), "actor": query.actor, "action": query.action, "subject": query.subject })).await?;
    Ok(records)
}

pub(super) async fn search(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<AuditParams>,
) -> Result<Response, PageError> {
    let records = entries(&state, &signed, &params, PAGE_SIZE).await?;
    let next = (records.len() as i64 == PAGE_SIZE)
        .then(|| records.last().map(|r| r.seq))
        .flatten()
        .map(|seq| {
            let params = AuditParams {
                before: Some(seq),
                ..params.clone()
            };
            format!(
                "/staff/audit?{}",
                serde_urlencoded::to_string(&params).unwrap_or_default()
            )
        });
    let export_query = serde_urlencoded::to_string(AuditParams {
        before: None,
        ..params.clone()
    })
    .unwrap_or_default();
    Ok(render(&AuditPage {
        chrome: signed.chrome("/staff/audit"),
        rows: records
            .into_iter()
            .map(|r| Row {
                seq: r.seq,
                at: jst_stored(&r.at),
                actor: r.actor,
                action: r.action,
                subject: r.subject,
                detail: r.detail,
            })
            .collect(),
        next,
        export_query,
        params,
    }))
}

/// The matching entries as CSV (UTF-8 with BOM), with their hashes so an outside copy can be
/// checked against the chain later.
pub(super) async fn export(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<AuditParams>,
) -> Result<Response, PageError> {
    let records = entries(&state, &signed, &params, EXPORT_LIMIT).await?;
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let csv_error = |e: csv::Error| PageError::from(ApiError::internal(e));
    writer
        .write_record([
            "seq",
            "at",
            "actor",
            "action",
            "subject",
            "detail",
            "prev_sha256",
            "sha256",
        ])
        .map_err(csv_error)?;
    for r in &records {
        writer
            .write_record(
                [
                    r.seq.to_string().as_str(),
                    &r.at,
                    &r.actor,
                    &r.action,
                    &r.subject,
                    &r.detail,
                    &r.prev_sha256,
                    &r.sha256,
                ]
                .map(spreadsheet_cell),
            )
            .map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| PageError::from(ApiError::internal(e)))?;
    Ok(crate::kit::attachment(
        bytes,
        "text/csv; charset=utf-8",
        "audit-log.csv",
    ))
}
