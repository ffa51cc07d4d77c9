//! CSV exports of the inbox, for the spreadsheets and 基幹 systems departments still feed:
//! UTF-8 with a BOM (so Excel detects it) or Shift_JIS (CP932) for older software, CRLF line
//! ends, and dates in 西暦 or 和暦.

use axum::extract::{Query, State};
use axum::response::Response;
use machi_core::procedures::{CompiledForm, FieldHint, InputKind};
use machi_core::text::{spreadsheet_cell, to_cp932, with_bom};
use machi_store::review::MAX_PAGE;
use serde::Deserialize;
use serde_json::{json, Value};

use super::inbox::InboxParams;
use crate::kit::{ApiError, PageError, Signed};
use crate::AppState;
use machi_core::procedures::display::{answer_rows, applicant_name, display_value, hint_display};

/// Most rows one export holds; narrow the filters for more.
const MAX_ROWS: usize = 100_000;

#[derive(Deserialize)]
pub(super) struct ExportParams {
    #[serde(flatten)]
    filters: InboxParams,
    /// `sjis` for Shift_JIS (CP932); anything else is UTF-8 with a BOM.
    #[serde(default)]
    encoding: String,
    /// Non-empty: dates in 和暦.
    #[serde(default)]
    wareki: String,
}

pub(super) async fn applications(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<ExportParams>,
) -> Result<Response, PageError> {
    signed.require(signed.role().reviews_applications())?;
    let wareki = !params.wareki.is_empty();
    let mut query = params.filters.query(&signed, MAX_PAGE)?;
    let mut items = Vec::new();
    loop {
        let page = state.store.inbox(&signed.city.id, &query).await?;
        let done = (page.len() as i64) < MAX_PAGE;
        query.after = page.last().map(|last| last.cursor());
        items.extend(page);
        if done || items.len() >= MAX_ROWS {
            break;
        }
    }
    items.truncate(MAX_ROWS);
    let names: std::collections::HashMap<String, String> =
        super::inbox::department_procedures(&state, &signed)
            .await?
            .into_iter()
            .collect();
    // With one procedure chosen, its answers become columns too (in its current form's order).
    let form = match query.procedure.as_deref() {
        Some(id) => current_form(&state, &signed, id).await?,
        None => None,
    };
    let receipts: Vec<String> = items.iter().map(|i| i.receipt_number.clone()).collect();
    let answers = match &form {
        Some(_) => state.store.answers_of(&signed.city.id, &receipts).await?,
        None => Default::default(),
    };
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut heading: Vec<String> = [
        "受付番号",
        "手続",
        "状況",
        "受付日時",
        "処理期限",
        "担当者",
        "受付方法",
        "申請者",
    ]
    .map(String::from)
    .to_vec();
    match &form {
        Some(form) => heading.extend(form.fields().map(|(_, hint)| hint.label.ja.clone())),
        // Procedures' questions differ: without one chosen, each row writes its answers out.
        None => heading.push("申請内容".into()),
    }
    let csv_error = |e: csv::Error| PageError::from(ApiError::internal(e));
    let safe =
        |cells: &[String]| -> Vec<String> { cells.iter().map(|c| spreadsheet_cell(c)).collect() };
    writer.write_record(safe(&heading)).map_err(csv_error)?;
    for item in &items {
        let mut record = vec![
            item.receipt_number.clone(),
            names
                .get(&item.procedure_id)
                .cloned()
                .unwrap_or_else(|| item.procedure_id.clone()),
            item.status.label().ja,
            time_text(item.submitted_at, wareki),
            item.due_at
                .map(|d| time_text(d, wareki))
                .unwrap_or_default(),
            item.assignee.clone().unwrap_or_default(),
            if item.made_via == "counter" {
                "窓口"
            } else {
                "オンライン"
            }
            .to_string(),
        ];
        let (applicant, written_out) = read_answers(&state, &signed, item).await;
        record.push(applicant);
        if form.is_none() {
            record.push(written_out);
        }
        if let Some(form) = &form {
            let empty = serde_json::Map::new();
            let given = answers
                .get(&item.receipt_number)
                .map_or(&empty, |(_, answers)| answers);
            record.extend(
                form.fields()
                    .map(|(name, _)| answer_text(form, name, given.get(name), wareki)),
            );
        }
        writer.write_record(safe(&record)).map_err(csv_error)?;
    }
    let text = writer
        .into_inner()
        .map_err(|e| PageError::from(ApiError::internal(e)))?;
    let text = String::from_utf8_lossy(&text);
    let sjis = params.encoding == "sjis";
    signed
        .audit(
            &state,
            "application.export",
            query.procedure.as_deref().unwrap_or("*"),
            json!({ "rows": items.len(), "encoding": if sjis { "cp932" } else { "utf-8" } }),
        )
        .await?;
    let (bytes, content_type) = if sjis {
        (to_cp932(&text), "text/csv; charset=Shift_JIS")
    } else {
        (with_bom(&text), "text/csv; charset=utf-8")
    };
    let filename = format!(
        "applications-{}.csv",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    Ok(crate::kit::attachment(bytes, content_type, &filename))
}

/// The applicant's name and every answer written out (「氏名：山田 花子 ／ 住所：…」), read with
/// the form the application was made on.
async fn read_answers(
    state: &AppState,
    signed: &Signed,
    item: &machi_store::review::InboxItem,
) -> (String, String) {
    let form = state
        .forms
        .get(
            &state.store,
            &signed.city.id,
            &item.procedure_id,
            item.form_version,
        )
        .await;
    let answers: serde_json::Map<String, Value> =
        serde_json::from_str(&item.answers).unwrap_or_default();
    let Ok(form) = form else {
        return (String::new(), String::new());
    };
    let written_out = answer_rows(false, &form, &answers)
        .into_iter()
        .map(|(label, value)| format!("{label}：{value}"))
        .collect::<Vec<_>>()
        .join(" ／ ");
    (
        applicant_name(&form, &answers).unwrap_or_default(),
        written_out,
    )
}

async fn current_form(
    state: &AppState,
    signed: &Signed,
    procedure_id: &str,
) -> Result<Option<std::sync::Arc<CompiledForm>>, PageError> {
    let record = state
        .procedures
        .get(&state.store, &signed.city.id, procedure_id)
        .await?;
    let Some(version) = record.and_then(|r| r.form_version) else {
        return Ok(None);
    };
    Ok(Some(
        state
            .forms
            .get(&state.store, &signed.city.id, procedure_id, version)
            .await?,
    ))
}

/// A stored UTC time as JST: `2026-11-25 13:40` or `令和8年11月25日 13:40`.
fn time_text(time: machi_store::Time, wareki: bool) -> String {
    if wareki {
        return crate::kit::jst_text(time);
    }
    time.utc()
        .with_timezone(&machi_core::wareki::jst())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// One answer as a cell: choices by their Japanese label, dates in the chosen calendar, a
/// group's entries as `山田 陽向／ヤマダ　ヒナタ／2026-11-10; …`.
fn answer_text(form: &CompiledForm, name: &str, value: Option<&Value>, wareki: bool) -> String {
    match (value, form.definition().ui.fields.get(name)) {
        (None, _) => String::new(),
        (Some(value), Some(hint)) => cell_text(hint, value, wareki),
        (Some(value), None) => display_value(false, form, name, value),
    }
}

fn cell_text(hint: &FieldHint, value: &Value, wareki: bool) -> String {
    match (hint.input, value) {
        (InputKind::Date, Value::String(text)) => {
            match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(date) if wareki => machi_core::wareki::format_wareki(date),
                _ => text.to_string(),
            }
        }
        (InputKind::Group, Value::Array(entries)) => {
            let Some(items) = &hint.items else {
                return value.to_string();
            };
            entries
                .iter()
                .map(|entry| {
                    items
                        .order
                        .iter()
                        .filter_map(|n| Some((items.fields.get(n)?, entry.get(n)?)))
                        .map(|(sub, value)| cell_text(sub, value, wareki))
                        .collect::<Vec<_>>()
                        .join("／")
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ => hint_display(false, hint, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_cell_holds_every_entry() {
        let hint: FieldHint = serde_json::from_value(json!({
            "label": {"ja": "お子さん"}, "input": "group",
            "items": {"order": ["name", "birth_date"], "fields": {
                "name": {"label": {"ja": "氏名"}, "input": "text"},
                "birth_date": {"label": {"ja": "生年月日"}, "input": "date"}}}
        }))
        .unwrap();
        let entries = json!([
            {"name": "山田 陽向", "birth_date": "2026-11-10"},
            {"name": "山田 蒼", "birth_date": "2024-01-02"}
        ]);
        assert_eq!(
            cell_text(&hint, &entries, false),
            "山田 陽向／2026-11-10; 山田 蒼／2024-01-02"
        );
        assert!(cell_text(&hint, &entries, true).starts_with("山田 陽向／令和8年11月10日; "));
    }

    #[test]
    fn times_are_shown_in_japan_time() {
        assert_eq!(
            time_text(at("2026-11-25T04:40:00.000000Z"), false),
            "2026-11-25 13:40"
        );
        assert!(time_text(at("2026-11-25T04:40:00.000000Z"), true).starts_with("令和8年11月25日"));
    }

    fn at(text: &str) -> machi_store::Time {
        machi_store::Time::parse(text).unwrap()
    }
}
