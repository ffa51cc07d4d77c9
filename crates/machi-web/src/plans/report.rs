//! 年度進捗報告書: a plan's year, measure by measure (schedule, action plan, status, what was
//! done, grade, CIO comment, KPI actuals against targets), as a printable page, as CSV (UTF-8
//! with a BOM so Excel opens it) and as an Excel workbook.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use machi_core::plans::cycle::plan_years;
use machi_core::plans::Node;
use machi_core::text::spreadsheet_cell;
use rust_xlsxwriter::{Format, Workbook};
use serde::Deserialize;

use super::standing::{fy_label, kpi_points, standing};
use super::{load, path_segment, Loaded};
use crate::kit::{attachment, city_name, render, ApiError, City, PageError, Ui};
use crate::AppState;

#[derive(Deserialize, Default)]
pub(crate) struct ReportQuery {
    #[serde(default)]
    fy: String,
    /// `csv` or `xlsx`; anything else is the printable page.
    #[serde(default)]
    format: String,
}

/// One measure's line of the report.
struct Line {
    cells: Vec<String>,
}

fn headers(ui: Ui) -> Vec<String> {
    [
        ("番号", "No."),
        ("施策", "Measure"),
        ("担当課", "Owner"),
        ("スケジュール", "Schedule"),
        ("実行計画", "Action plan"),
        ("進捗状況", "Status"),
        ("取組内容", "What was done"),
        ("根拠資料", "Evidence"),
        ("評価", "Grade"),
        ("CIOコメント", "CIO comment"),
        ("成果指標（実績／目標）", "KPIs (actual / target)"),
    ]
    .iter()
    .map(|(ja, en)| ui.t(ja, en).to_string())
    .collect()
}

fn kpi_summary(ui: Ui, loaded: &Loaded, node: &Node, fy: i32) -> String {
    let year = fy_label(ui, fy);
    node.kpis
        .iter()
        .map(|kpi| {
            let points = kpi_points(ui, kpi, &loaded.cycle, &loaded.live);
            let actual = points
                .iter()
                .rev()
                .find(|p| p.label == year)
                .or(points.last())
                .map(|p| {
                    format!(
                        "{}{}（{}）",
                        super::chart::number(p.value),
                        kpi.unit,
                        p.label
                    )
                })
                .unwrap_or_else(|| "—".into());
            let target = kpi
                .target
                .as_ref()
                .map(|t| format!("{}{}（{}）", t.value, kpi.unit, fy_label(ui, t.fy)))
                .unwrap_or_else(|| "—".into());
            format!("{}: {actual} / {target}", kpi.name)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn lines(ui: Ui, loaded: &Loaded, fy: i32) -> Vec<Line> {
    loaded
        .plan
        .walk()
        .into_iter()
        .filter(|(_, n)| n.measure)
        .map(|(_, node)| {
            let s = standing(node, &loaded.cycle, fy);
            let schedule: Vec<&str> = node
                .schedule
                .iter()
                .filter(|r| r.fy == fy)
                .map(|r| r.text.as_str())
                .collect();
            let owners: Vec<&str> = node.owners.iter().map(|o| o.name.as_str()).collect();
            Line {
                cells: vec![
                    node.label.clone(),
                    node.title.clone(),
                    owners.join("、"),
                    schedule.join("・"),
                    loaded
                        .cycle
                        .action(&node.id, fy)
                        .map(|a| a.text.clone())
                        .unwrap_or_default(),
                    s.status
                        .map(|st| if ui.en { st.english() } else { st.label() }.to_string())
                        .unwrap_or_else(|| ui.t("未報告", "not reported").to_string()),
                    s.narrative,
                    s.evidence.join("\n"),
                    s.grade.unwrap_or_default(),
                    s.comment,
                    kpi_summary(ui, loaded, node, fy),
                ],
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "plan_report.html")]
struct ReportPage {
    ui: Ui,
    city: String,
    back: String,
    plan_title: String,
    plan_href: String,
    fy: i32,
    year: String,
    headers: Vec<String>,
    lines: Vec<Line>,
}

fn csv(headers: &[String], lines: &[Line]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(headers)?;
    for line in lines {
        writer.write_record(line.cells.iter().map(|c| spreadsheet_cell(c)))?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

fn xlsx(
    sheet_name: &str,
    headers: &[String],
    lines: &[Line],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name)?;
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (column, header) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, column, header, &bold)?;
        sheet.set_column_width(column, if column == 1 || column >= 6 { 40 } else { 14 })?;
    }
    for (row, line) in (1u32..).zip(lines) {
        for (column, cell) in (0u16..).zip(&line.cells) {
            sheet.write_string_with_format(row, column, cell, &wrap)?;
        }
    }
    sheet.set_freeze_panes(1, 2)?;
    workbook.save_to_buffer()
}

pub(crate) async fn show(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &city, ui, &id).await?;
    let years = plan_years(&loaded.plan);
    let fy = super::dashboard::YearQuery { fy: query.fy }.year(&years);
    let headers = headers(ui);
    let lines = lines(ui, &loaded, fy);
    let failed = |e: String| PageError::from(ApiError::internal(e));
    let filename = format!("plan-{}-{fy}", path_segment(&id));
    match query.format.as_str() {
        "csv" => {
            let bytes = csv(&headers, &lines).map_err(|e| failed(e.to_string()))?;
            Ok(attachment(
                bytes,
                "text/csv; charset=utf-8",
                &format!("{filename}.csv"),
            ))
        }
        "xlsx" => {
            let bytes =
                xlsx(&fy_label(ui, fy), &headers, &lines).map_err(|e| failed(e.to_string()))?;
            let xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
            Ok(attachment(bytes, xlsx_type, &format!("{filename}.xlsx")))
        }
        _ => {
            let plan_href = format!("/plans/{}", path_segment(&id));
            Ok(render(&ReportPage {
                ui,
                city: city_name(ui, &city),
                back: format!("{plan_href}/report?fy={fy}"),
                plan_title: loaded.plan.plan.title.clone(),
                plan_href,
                fy,
                year: fy_label(ui, fy),
                headers,
                lines,
            }))
        }
    }
}
