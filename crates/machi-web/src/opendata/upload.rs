//! Adding a file to a dataset. A CSV (UTF-8 or Shift_JIS) is read and, when it follows a
//! standard dataset (declared, or recognised from its header), checked against it; staff see
//! the report, line by line and column by column. A file with errors is not kept, so what was
//! published stays as it was; one with only warnings is kept and the warnings are shown.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use machi_core::opendata::catalog::format_of;
use machi_core::opendata::ingest::ingest;
use machi_core::opendata::standard::{check, column_types, Report, Severity};
use machi_core::opendata::table::{read_csv, read_xlsx, Table};
use machi_core::opendata::types::ColumnType;
use machi_store::opendata::{DatasetRecord, ResourceInput};

use super::definitions;
use super::staff::editable;
use crate::kit::{render, see_other, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// Largest file a resource may have.
pub(super) const MAX_FILE: usize = 50 * 1024 * 1024;

/// One line of the report.
struct Line {
    line: String,
    column: String,
    severity: String,
    message: String,
    error: bool,
}

#[derive(Template)]
#[template(path = "staff_resource_report.html")]
struct ReportPage {
    chrome: Chrome,
    dataset: DatasetRecord,
    file_name: String,
    /// Whether the file was kept (no errors).
    kept: bool,
    summary: Vec<(String, String)>,
    lines: Vec<Line>,
    errors: usize,
    warnings: usize,
    columns: Vec<(String, String)>,
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

pub(super) async fn add(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let dataset = editable(&state, &signed, &id).await?;
    let (pairs, uploads) = crate::kit::read_form(&state, request).await?;
    let ui = signed.ui;
    let mut page = ReportPage {
        chrome: signed.chrome(&format!("/staff/opendata/{id}")),
        dataset,
        file_name: String::new(),
        kept: false,
        summary: Vec::new(),
        lines: Vec::new(),
        errors: 0,
        warnings: 0,
        columns: Vec::new(),
    };
    let Some(upload) = uploads
        .into_iter()
        .find(|u| u.field == "file" && !u.bytes.is_empty())
    else {
        return Ok(refused(
            page,
            ui.t("ファイルを選んでください", "Choose a file"),
        ));
    };
    page.file_name = upload.filename.clone();
    let format = format_of(&upload.filename, "");
    if format.is_empty() {
        let only = ui.t(
            "CSV・XLSX・JSON・GeoJSON・PDF のファイルを選んでください",
            "Choose a CSV, XLSX, JSON, GeoJSON or PDF file",
        );
        return Ok(refused(page, only));
    }
    let mut standard = field(&pairs, "standard");
    let mut typed = None;
    if format == "CSV" || format == "XLSX" {
        let checked = match validate(&signed, &upload.bytes, &format, &standard, &mut page) {
            Ok(checked) => checked,
            Err(message) => return Ok(refused(page, &message)),
        };
        match &checked.report {
            Some(report) if report.errors() > 0 => {
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
            }
            Some(report) => standard = report.dataset.clone(),
            None => standard.clear(),
        }
        // Typed rows for the datastore, made before anything is stored.
        match ingest(&checked.table, &checked.types) {
            Ok(rows) => typed = Some(rows),
            Err(error) => {
                let problems: Vec<String> = error
                    .problems
                    .iter()
                    .map(|p| ui.l(&p.message).to_string())
                    .collect();
                return Ok(refused(page, &problems.join(" / ")));
            }
        }
    } else if !standard.is_empty() && standard != "auto" {
        let message = ui.t(
            "標準データセットの確認は CSV・Excel ファイルでできます",
            "Files are checked against a standard dataset as CSV or Excel",
        );
        return Ok(refused(page, message));
    } else {
        standard.clear();
    }
    let size = i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX);
    // A Shift_JIS CSV says so, so that browsers and clients read it right.
    let media_type = match page.summary.first() {
        Some((_, encoding)) if format == "CSV" && encoding == "cp932" => {
            "text/csv; charset=Shift_JIS"
        }
        _ => media_type(&format),
    };
    let stored = state.store.save_file(upload.bytes).await?;
    let name = Some(field(&pairs, "name"))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| upload.filename.clone());
    let resource = ResourceInput {
        name,
        description: field(&pairs, "description"),
        format: format.clone(),
        url: String::new(),
        media_type: media_type.into(),
        size_bytes: Some(size),
        file_sha256: Some(stored.sha256),
        standard,
    };
    // A new version of a file the dataset has keeps its resource (id, address, position).
    let replacing = field(&pairs, "replace");
    let added = if replacing.is_empty() {
        state
            .store
            .add_resource(&signed.city.id, &page.dataset.id, &resource, signed.email())
            .await?
    } else {
        let replaced = state
            .store
            .replace_resource_file(
                &signed.city.id,
                &page.dataset.id,
                &replacing,
                &resource,
                signed.email(),
            )
            .await;
        match replaced {
            Ok(replaced) => replaced,
            Err(machi_store::StoreError::NotStored(_)) => {
                let message = ui.t(
                    "差し替えるファイルがこのデータセットにありません",
                    "This dataset has no such file to replace",
                );
                return Ok(refused(page, message));
            }
            Err(error) => return Err(PageError::from(error)),
        }
    };
    match typed {
        Some(typed) => {
            state
                .store
                .datastore_replace(&signed.city.id, &added.id, &typed.fields, &[], typed.rows)
                .await
                .map_err(|e| PageError::from(ApiError::internal(e)))?;
        }
        // A table replaced by a file that is not one takes its rows with it.
        None if !replacing.is_empty() => state
            .store
            .datastore_drop(&signed.city.id, &added.id)
            .await
            .map_err(|e| PageError::from(ApiError::internal(e)))?,
        None => {}
    }
    if format != "CSV" && format != "XLSX" {
        return Ok(see_other(&format!("/staff/opendata/{id}")));
    }
    page.kept = true;
    Ok(render(&page))
}

fn media_type(format: &str) -> &'static str {
    match format {
        "CSV" => "text/csv",
        "XLSX" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "GeoJSON" => "application/geo+json",
        "JSON" => "application/json",
        _ => "application/pdf",
    }
}

/// The page for a file refused before it could be read as a table.
fn refused(mut page: ReportPage, message: &str) -> Response {
    page.errors = 1;
    page.lines.push(Line {
        line: String::new(),
        column: String::new(),
        severity: page.chrome.ui.t("エラー", "Error").into(),
        message: message.to_string(),
        error: true,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
}

/// A CSV read and checked: the table, its column types and the report (none when the file
/// follows no standard).
struct Checked {
    table: Table,
    types: Vec<ColumnType>,
    report: Option<Report>,
}

/// Reads the CSV and checks it against the declared or recognised standard, filling the page.
/// `Err` is a file that cannot be read as a table.
fn validate(
    signed: &Signed,
    bytes: &[u8],
    format: &str,
    declared: &str,
    page: &mut ReportPage,
) -> Result<Checked, String> {
    let ui = signed.ui;
    let read = if format == "XLSX" {
        read_xlsx
    } else {
        read_csv
    };
    let table = read(bytes).map_err(|e| {
        format!(
            "{}: {}",
            ui.t("読み込めません", "Cannot read"),
            ui.l(&e.message)
        )
    })?;
    let definitions = definitions().map_err(|_| "definitions".to_string())?;
    let dataset = match declared {
        "" => None,
        "auto" => definitions.recognise(&table),
        id => Some(definitions.dataset(id).ok_or_else(|| {
            format!(
                "{}: {id}",
                ui.t("標準データセットがありません", "No such standard dataset")
            )
        })?),
    };
    page.summary = vec![
        (
            ui.t("文字コード", "Encoding").into(),
            if format == "XLSX" {
                "xlsx"
            } else {
                table.encoding.as_str()
            }
            .into(),
        ),
        (
            ui.t("データ行数", "Rows").into(),
            table.rows.len().to_string(),
        ),
        (
            ui.t("確認した標準", "Checked against").into(),
            dataset.map_or_else(
                || ui.t("なし", "none").to_string(),
                |d| format!("{}（{}, {}）", d.name_ja, d.id, d.edition),
            ),
        ),
    ];
    let types = column_types(&table, dataset);
    page.columns = table
        .headers
        .iter()
        .zip(&types)
        .map(|(h, t)| {
            let (ja, en) = t.label();
            let named = format!("{}{}{}", ui.t("（", " ("), t.as_str(), ui.t("）", ")"));
            (h.clone(), format!("{}{named}", ui.t(ja, en)))
        })
        .collect();
    let Some(dataset) = dataset else {
        return Ok(Checked {
            table,
            types,
            report: None,
        });
    };
    let report = check(dataset, &table);
    page.errors = report.errors();
    page.warnings = report.warnings();
    page.lines = report
        .findings
        .iter()
        .map(|f| Line {
            line: if f.line == 0 {
                String::new()
            } else {
                f.line.to_string()
            },
            column: f.column.clone(),
            severity: match f.severity {
                Severity::Error => ui.t("エラー", "Error"),
                Severity::Warning => ui.t("警告", "Warning"),
            }
            .into(),
            message: ui.l(&f.message).to_string(),
            error: f.severity == Severity::Error,
        })
        .collect();
    Ok(Checked {
        table,
        types,
        report: Some(report),
    })
}
