//! Column types of the datastore, inferred from the cells of a column the way a person reading
//! the spreadsheet would: a column of whole numbers is an integer column, of dates (西暦 or
//! 和暦) a date column, and so on; a column with any cell that fits no narrower type is text.
//! Empty cells fit every type (they are missing values).

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::text::fold_width;

/// A datastore column type, named as CKAN's datastore names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    #[serde(rename = "int")]
    Integer,
    Numeric,
    Date,
    Time,
    Text,
}

/// From narrowest to widest: inference takes the first type every cell fits.
const NARROWEST_FIRST: [ColumnType; 4] = [
    ColumnType::Integer,
    ColumnType::Numeric,
    ColumnType::Date,
    ColumnType::Time,
];

impl ColumnType {
    /// The name CKAN's `datastore_search` gives in `fields[].type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "int",
            ColumnType::Numeric => "numeric",
            ColumnType::Date => "date",
            ColumnType::Time => "time",
            ColumnType::Text => "text",
        }
    }

    /// Reads a type name as staff or CKAN clients write it (`int`, `integer`, `numeric` …).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "int" | "integer" | "int4" | "int8" | "bigint" => Some(ColumnType::Integer),
            "numeric" | "number" | "float" | "float8" | "double" => Some(ColumnType::Numeric),
            "date" => Some(ColumnType::Date),
            "time" => Some(ColumnType::Time),
            "text" | "string" => Some(ColumnType::Text),
            _ => None,
        }
    }

    /// The cell in this type's canonical form (`2024-04-01`, `09:00:00`, `1234`), or `None`
    /// when it does not fit. Empty cells are handled by the caller.
    pub fn normalise(self, cell: &str) -> Option<String> {
        match self {
            ColumnType::Integer => integer(cell).map(|v| v.to_string()),
            ColumnType::Numeric => numeric(cell),
            ColumnType::Date => date(cell).map(|d| d.format("%Y-%m-%d").to_string()),
            ColumnType::Time => time(cell).map(|t| t.format("%H:%M:%S").to_string()),
            ColumnType::Text => Some(cell.to_string()),
        }
    }
}

/// Digits in any width, with an optional sign and thousands separators (`1,234`, `－５`).
fn plain_number(cell: &str) -> Option<String> {
    let folded = fold_width(cell.trim()).replace(',', "");
    let folded = folded.replace('−', "-");
    let body = folded.strip_prefix(['-', '+']).unwrap_or(&folded);
    let valid = !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == '.')
        && body.matches('.').count() <= 1
        && !body.starts_with('.')
        && !body.ends_with('.');
    valid.then_some(folded)
}

fn integer(cell: &str) -> Option<i64> {
    let number = plain_number(cell)?;
    // A leading zero marks a code (郵便番号, 団体コード), which must stay text.
    let digits = number.trim_start_matches(['-', '+']);
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    number.parse().ok()
}

fn numeric(cell: &str) -> Option<String> {
    let number = plain_number(cell)?;
    let digits = number.trim_start_matches(['-', '+']);
    if digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.") {
        return None;
    }
    number.parse::<f64>().ok().filter(|v| v.is_finite())?;
    Some(number.trim_start_matches('+').to_string())
}

/// A date in 西暦 (`2024-04-01`, `2024/4/1`, `2024年4月1日`) or 和暦 (`令和6年4月1日`, `R6.4.1`).
pub fn date(cell: &str) -> Option<NaiveDate> {
    // A bare number is not a date, even if the date reader could make one of it.
    if plain_number(cell).is_some() {
        return None;
    }
    crate::wareki::parse_date(cell).ok()
}

/// A time of day: `9:00`, `09:00:30`, `９時３０分`.
pub fn time(cell: &str) -> Option<NaiveTime> {
    let folded = fold_width(cell.trim());
    let written_in_kanji = folded.contains('時');
    let folded = folded.replace(['時', '分'], ":").replace('秒', "");
    let mut folded = folded.trim_end_matches(':').to_string();
    if written_in_kanji && !folded.contains(':') {
        folded.push_str(":00"); // 9時 is 9:00
    }
    NaiveTime::parse_from_str(&folded, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(&folded, "%H:%M"))
        .ok()
        .filter(|_| folded.contains(':'))
}

/// The narrowest type every non-empty cell of a column fits; text when the column is empty.
pub fn infer<'a>(cells: impl Iterator<Item = &'a str> + Clone) -> ColumnType {
    let mut filled = cells.filter(|c| !c.trim().is_empty()).peekable();
    if filled.peek().is_none() {
        return ColumnType::Text;
    }
    NARROWEST_FIRST
        .into_iter()
        .find(|kind| filled.clone().all(|cell| kind.normalise(cell).is_some()))
        .unwrap_or(ColumnType::Text)
}
