//! 取込 (ingest): a [`Table`] and its chosen column types become typed rows for the datastore.
//!
//! Policy: all or nothing. Every cell is normalised by its column's type (empty → NULL); a cell
//! that does not fit is a problem named by line and column, and every problem is collected (up
//! to [`MAX_PROBLEMS`]) so that staff fix the file once, not once per error. Field ids are the
//! header names, as CKAN's are: Japanese is welcome, but ids CKAN reserves (`_id`, anything
//! starting with `_`), empty, duplicate or longer than PostgreSQL's 63-byte identifiers are
//! refused, because the datastore makes one real column per field.

use serde::{Deserialize, Serialize};

use super::table::Table;
use super::types::{ColumnType, Storage};
use crate::procedures::Localized;

/// Problems collected before giving up; a file with more is wrong throughout.
pub const MAX_PROBLEMS: usize = 1000;
/// PostgreSQL truncates longer identifiers, which would merge two long field names.
pub const MAX_FIELD_ID_BYTES: usize = 63;

/// A datastore field as CKAN describes it: `{"id": "人口", "type": "int"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// A typed cell, ready to bind: integers, floating-point numbers and booleans as themselves,
/// the rest as canonical text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Numeric(f64),
    Bool(bool),
    Text(String),
}

/// A file turned into fields and typed rows, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    pub fields: Vec<Field>,
    pub rows: Vec<Vec<Cell>>,
}

/// One thing wrong, with where: line 1 is the header; `column` is the field id when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: u64,
    pub column: Option<String>,
    pub message: Localized,
}

/// Why nothing was ingested: the problems found (at most [`MAX_PROBLEMS`]) and whether the
/// search stopped there.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestError {
    pub problems: Vec<Problem>,
    pub truncated: bool,
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", problem.message.en)?;
        }
        if self.truncated {
            f.write_str("; …")?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {}

/// Why `id` cannot be a CKAN field id, or `None` when it can.
pub fn field_id_problem(id: &str) -> Option<Localized> {
    if id.trim().is_empty() {
        return Some(Localized::new("項目名が空です", "a field name is empty"));
    }
    if id.starts_with('_') {
        return Some(Localized::new(
            format!("項目名「{id}」は使えません（「_」で始まる名前は CKAN が予約しています）"),
            format!("the field name '{id}' is reserved (names starting with '_' belong to CKAN)"),
        ));
    }
    if id.len() > MAX_FIELD_ID_BYTES {
        return Some(Localized::new(
            format!("項目名「{id}」が長すぎます（全角21文字・半角63文字まで）"),
            format!("the field name '{id}' is longer than 63 bytes"),
        ));
    }
    if id.chars().any(char::is_control) {
        return Some(Localized::new(
            format!("項目名「{}」に制御文字があります", id.escape_debug()),
            format!(
                "the field name '{}' has control characters",
                id.escape_debug()
            ),
        ));
    }
    None
}

/// The fields of a resource: header names with their types; every bad name is reported.
pub fn fields(headers: &[String], types: &[ColumnType]) -> Result<Vec<Field>, IngestError> {
    let mut problems = Vec::new();
    if headers.len() != types.len() {
        problems.push(header_problem(
            None,
            Localized::new(
                format!(
                    "型が{}列分ありますが、見出しは{}列です",
                    types.len(),
                    headers.len()
                ),
                format!("{} types for {} columns", types.len(), headers.len()),
            ),
        ));
    }
    for (i, id) in headers.iter().enumerate() {
        if let Some(message) = field_id_problem(id) {
            problems.push(header_problem(Some(id), message));
        } else if headers[..i].iter().any(|h| same_field_id(h, id)) {
            problems.push(header_problem(
                Some(id),
                Localized::new(
                    format!("項目名「{id}」が2回あります"),
                    format!("the field name '{id}' appears twice"),
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(IngestError {
            problems,
            truncated: false,
        });
    }
    Ok(headers
        .iter()
        .zip(types)
        .map(|(id, kind)| Field {
            id: id.clone(),
            kind: *kind,
        })
        .collect())
}

/// Whether two ids name the same column: SQLite folds ASCII case in column names, so `Name`
/// and `name` cannot both be columns there, and are refused on both databases alike.
pub fn same_field_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn header_problem(column: Option<&str>, message: Localized) -> Problem {
    Problem {
        line: 1,
        column: column.map(str::to_string),
        message,
    }
}

/// `inferred` with the types staff chose for some columns (by header name); a name that is no
/// header is a problem, so a typo in an override is not silently ignored.
pub fn with_overrides(
    headers: &[String],
    inferred: &[ColumnType],
    overrides: &[(String, ColumnType)],
) -> Result<Vec<ColumnType>, IngestError> {
    let mut types = inferred.to_vec();
    let mut problems = Vec::new();
    for (name, kind) in overrides {
        match headers.iter().position(|h| h == name) {
            Some(i) if i < types.len() => types[i] = *kind,
            _ => problems.push(header_problem(
                Some(name),
                Localized::new(
                    format!("型を指定した項目「{name}」が見出しにありません"),
                    format!("the type override names '{name}', which is not a column"),
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(types)
    } else {
        Err(IngestError {
            problems,
            truncated: false,
        })
    }
}

/// One cell in its column's type: empty is NULL; `None` when it does not fit.
pub fn typed_cell(kind: ColumnType, cell: &str) -> Option<Cell> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Some(Cell::Null);
    }
    let canonical = kind.normalise(cell)?;
    match kind.storage() {
        Storage::Int => canonical.parse().ok().map(Cell::Int),
        Storage::Float => canonical.parse().ok().map(Cell::Numeric),
        Storage::Bool => canonical.parse().ok().map(Cell::Bool),
        Storage::Text => Some(Cell::Text(canonical)),
    }
}

/// The problem of a cell that does not fit its column's type.
pub fn cell_problem(line: u64, field: &Field, cell: &str) -> Problem {
    let (ja, en) = field.kind.label();
    let id = &field.id;
    Problem {
        line,
        column: Some(id.clone()),
        message: Localized::new(
            format!("{line}行目「{id}」の「{cell}」は{ja}ではありません"),
            format!("line {line}, column '{id}': '{cell}' is not {en}"),
        ),
    }
}

/// Turns `table` into typed rows with `types` (one per column), or every problem found.
pub fn ingest(table: &Table, types: &[ColumnType]) -> Result<Typed, IngestError> {
    let fields = fields(&table.headers, types)?;
    let mut problems = Vec::new();
    let mut truncated = false;
    let mut rows = Vec::with_capacity(table.rows.len());
    'rows: for (record, line) in table.rows.iter().zip(&table.lines) {
        let mut row = Vec::with_capacity(fields.len());
        for (field, cell) in fields.iter().zip(record) {
            match typed_cell(field.kind, cell) {
                Some(typed) => row.push(typed),
                None if problems.len() == MAX_PROBLEMS => {
                    truncated = true;
                    break 'rows;
                }
                None => problems.push(cell_problem(*line, field, cell)),
            }
        }
        if problems.is_empty() {
            rows.push(row);
        }
    }
    if problems.is_empty() {
        Ok(Typed { fields, rows })
    } else {
        Err(IngestError {
            problems,
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opendata::standard::column_types;
    use crate::opendata::table::read_csv;
    use crate::text::to_cp932;

    fn table(text: &str) -> Table {
        read_csv(&to_cp932(text)).unwrap()
    }

    #[test]
    fn a_shift_jis_file_becomes_typed_rows_with_wareki_dates_in_iso_form() {
        let table = table("団体コード,施設名,開設日,定員,面積\r\n011002,中央保育園,令和6年4月1日,120,1.5\r\n011002,北保育園,H30.4.1,,2\r\n");
        let types = with_overrides(
            &table.headers,
            &column_types(&table, None),
            &[("団体コード".into(), ColumnType::Text)],
        )
        .unwrap();
        let typed = ingest(&table, &types).unwrap();
        let kinds: Vec<ColumnType> = typed.fields.iter().map(|f| f.kind).collect();
        use ColumnType::*;
        assert_eq!(kinds, [Text, Text, Date, Integer, Numeric]);
        assert_eq!(
            typed.rows[0],
            [
                Cell::Text("011002".into()),
                Cell::Text("中央保育園".into()),
                Cell::Text("2024-04-01".into()),
                Cell::Int(120),
                Cell::Numeric(1.5)
            ]
        );
        assert_eq!(typed.rows[1][2], Cell::Text("2018-04-01".into()));
        assert_eq!(typed.rows[1][3], Cell::Null);
    }

    #[test]
    fn every_cell_that_does_not_fit_is_named_by_line_and_column_and_nothing_is_kept() {
        let table = table("名称,定員,開設日\nA,10,2024-04-01\nB,十,2024-04-01\nC,5,昨日\n");
        use ColumnType::*;
        let error = ingest(&table, &[Text, Integer, Date]).unwrap_err();
        let found: Vec<(u64, Option<&str>)> = error
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(found, [(3, Some("定員")), (4, Some("開設日"))]);
        assert!(error.problems[0]
            .message
            .ja
            .contains("3行目「定員」の「十」は整数"));
        assert!(error.to_string().contains("line 4, column '開設日'"));
    }

    #[test]
    fn problems_stop_being_collected_at_the_cap() {
        let mut text = String::from("n\n");
        for _ in 0..MAX_PROBLEMS + 5 {
            text.push_str("x\n");
        }
        let error = ingest(&table(&text), &[ColumnType::Integer]).unwrap_err();
        assert_eq!(error.problems.len(), MAX_PROBLEMS);
        assert!(error.truncated);
    }

    #[test]
    fn reserved_empty_long_and_duplicate_field_ids_are_refused() {
        let headers: Vec<String> = ["_id", "_x", "人口", "人口", &"あ".repeat(22)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let error = fields(&headers, &[ColumnType::Text; 5]).unwrap_err();
        assert_eq!(error.problems.len(), 4, "{error}");
        assert!(field_id_problem("人口").is_none());
        let error = fields(&["Name".into(), "name".into()], &[ColumnType::Text; 2]).unwrap_err();
        assert_eq!(error.problems[0].column.as_deref(), Some("name"));
        assert!(field_id_problem("").is_some());
        assert!(field_id_problem(&"あ".repeat(21)).is_none());
    }

    #[test]
    fn an_override_naming_no_column_is_a_problem() {
        let headers = vec!["a".to_string()];
        let error = with_overrides(
            &headers,
            &[ColumnType::Integer],
            &[("b".into(), ColumnType::Text)],
        )
        .unwrap_err();
        assert_eq!(error.problems[0].column.as_deref(), Some("b"));
    }
}
