//! The ledger as CSV: export (UTF-8 with a BOM, or CP932 with `?encoding=sjis`; CRLF) and
//! import of a whole file, which is written only when every line is right — otherwise the page
//! lists each problem with its line and column and nothing changes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use machi_core::assets::{encode_csv, parse_csv, CsvProblem, Encoding};
use machi_store::assets::AssetFilter;
use machi_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use super::{department_names, read_scope, write_context, write_scope, ListParams};
use crate::kit::{render, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// Largest CSV accepted (a ledger of thousands of systems is well under this).
pub(super) const MAX_CSV_BYTES: usize = 5 * 1024 * 1024;

struct ProblemRow {
    line: u64,
    column: String,
    message: String,
}

#[derive(Template)]
#[template(path = "staff_assets_import.html")]
struct ImportPage {
    chrome: Chrome,
    problems: Vec<ProblemRow>,
    /// After a successful import: created, updated, unchanged.
    done: Option<(usize, usize, usize)>,
    file_error: String,
}

fn import_page(signed: &Signed) -> ImportPage {
    ImportPage {
        chrome: signed.chrome("/staff/assets/import"),
        problems: Vec::new(),
        done: None,
        file_error: String::new(),
    }
}

pub(super) async fn import_form(signed: Signed) -> Result<Response, PageError> {
    write_scope(&signed)?;
    Ok(render(&import_page(&signed)))
}

/// The uploaded file's bytes (the form's `file` field).
async fn uploaded(signed: &Signed, mut form: Multipart) -> Result<Vec<u8>, PageError> {
    let unreadable = |_| {
        PageError::from(ApiError::bad_request(signed.ui.t(
            "ファイルを読み取れませんでした（5MBまで）。",
            "The file could not be read (5 MB at most).",
        )))
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        if field.name() == Some("file") {
            return Ok(field.bytes().await.map_err(unreadable)?.to_vec());
        }
    }
    Ok(Vec::new())
}

pub(super) async fn import(
    State(state): State<AppState>,
    signed: Signed,
    form: Multipart,
) -> Result<Response, PageError> {
    let scope = write_scope(&signed)?;
    let bytes = uploaded(&signed, form).await?;
    let mut page = import_page(&signed);
    if bytes.is_empty() {
        page.file_error = signed
            .ui
            .t("CSVファイルを選んでください。", "Choose a CSV file.")
            .to_string();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    let context = write_context(&state, &signed, scope.as_deref()).await?;
    let problems = match parse_csv(&bytes, &context) {
        Ok(file) => {
            let mut problems =
                others_systems(&state, &signed, scope.as_deref(), &file.assets).await?;
            if problems.is_empty() {
                let assets: Vec<_> = file.assets.into_iter().map(|(_, a)| a).collect();
                let detail = json!({ "rows": assets.len(), "encoding": file.encoding.as_str() });
                let saved = state
                    .store
                    .save_assets(
                        &signed.city.id,
                        &assets,
                        signed.email(),
                        scope.as_deref(),
                        Some(detail),
                    )
                    .await;
                match saved {
                    Ok(summary) => {
                        page.done = Some((summary.created, summary.updated, summary.unchanged));
                        return Ok(render(&page));
                    }
                    // Another department's system appeared since the check: nothing written.
                    Err(StoreError::NotStored(detail)) => problems.push(CsvProblem {
                        line: 0,
                        column: String::new(),
                        message: machi_core::procedures::Localized::new(detail.clone(), detail),
                    }),
                    Err(error) => return Err(PageError::from(error)),
                }
            }
            problems
        }
        Err(problems) => problems,
    };
    page.problems = problems
        .into_iter()
        .map(|p| ProblemRow {
            line: p.line,
            column: p.column,
            message: signed.ui.l(&p.message).to_string(),
        })
        .collect();
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

/// Lines that would change a system recorded for another department (a department writes
/// only its own; the store checks again inside the transaction).
async fn others_systems(
    state: &AppState,
    signed: &Signed,
    scope: Option<&str>,
    rows: &[(u64, machi_core::assets::Asset)],
) -> Result<Vec<CsvProblem>, PageError> {
    let Some(own) = scope else {
        return Ok(Vec::new());
    };
    let recorded: HashMap<String, String> = state
        .store
        .assets(&signed.city.id, &AssetFilter::default())
        .await?
        .into_iter()
        .map(|a| (a.id, a.department))
        .collect();
    Ok(rows
        .iter()
        .filter(|(_, a)| recorded.get(&a.id).is_some_and(|d| d != own))
        .map(|(line, a)| CsvProblem {
            line: *line,
            column: "管理番号".into(),
            message: machi_core::procedures::Localized::new(
                format!(
                    "管理番号「{}」は他の課のシステムです（自課のみ変更できます）",
                    a.id
                ),
                format!(
                    "'{}' is another department's system; you may change only your own",
                    a.id
                ),
            ),
        })
        .collect())
}

#[derive(Deserialize)]
pub(super) struct ExportParams {
    #[serde(flatten)]
    filters: ListParams,
    /// `sjis` for Shift_JIS (CP932); anything else is UTF-8 with a BOM.
    #[serde(default)]
    encoding: String,
}

pub(super) async fn export(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<ExportParams>,
) -> Result<Response, PageError> {
    let scope = read_scope(&signed)?;
    let assets = state
        .store
        .assets(&signed.city.id, &params.filters.filter(scope))
        .await?;
    let names = department_names(&state, &signed).await?;
    let encoding = if params.encoding == "sjis" {
        Encoding::Cp932
    } else {
        Encoding::Utf8
    };
    let bytes = encode_csv(&assets, &names, encoding)
        .map_err(|e| PageError::from(ApiError::internal(e)))?;
    signed
        .audit(
            &state,
            "asset.export",
            "*",
            json!({ "rows": assets.len(), "encoding": encoding.as_str() }),
        )
        .await?;
    let content_type = match encoding {
        Encoding::Cp932 => "text/csv; charset=Shift_JIS",
        Encoding::Utf8 => "text/csv; charset=utf-8",
    };
    let filename = format!("assets-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    Ok(crate::kit::attachment(bytes, content_type, &filename))
}
