//! Column types of the datastore.
//!
//! Two jobs: inferring a column's type from the cells of an uploaded spreadsheet the way a
//! person reading it would (a column of whole numbers is an integer column, of dates — 西暦 or
//! 和暦 — a date column; a column with any cell that fits no narrower type is text; empty cells
//! fit every type), and naming the types CKAN clients declare in `datastore_create`, which are
//! PostgreSQL's (`int4`, `float8`, `timestamp`, `bool`, `json`, `text[]` …). A type is reported
//! back under PostgreSQL's own name for it (`integer` → `int4`, `text[]` → `_text`), as CKAN does.

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::fold_width;

/// A datastore column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `int8` (bigint): what an uploaded column of whole numbers becomes.
    Integer,
    Int4,
    Int2,
    Numeric,
    Float8,
    Float4,
    Bool,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Json,
    Text,
    /// An array of a scalar type (`text[]`, reported as `_text`).
    Array(&'static ColumnType),
}

/// How a type's values are kept in its column, on both databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Int,
    Float,
    Bool,
    /// Canonical text: ISO dates and times, PostgreSQL's interval text, compact JSON.
    Text,
}

/// The scalar types, each with PostgreSQL's name and the other names it accepts. Arrays of
/// each are `<name>[]` or `_<name>`.
const SCALARS: [(ColumnType, &str, &[&str]); 14] = [
    (ColumnType::Integer, "int8", &["bigint"]),
    (ColumnType::Int4, "int4", &["int", "integer"]),
    (ColumnType::Int2, "int2", &["smallint"]),
    (ColumnType::Numeric, "numeric", &["decimal", "number"]),
    (
        ColumnType::Float8,
        "float8",
        &["float", "double precision", "double"],
    ),
    (ColumnType::Float4, "float4", &["real"]),
    (ColumnType::Bool, "bool", &["boolean"]),
    (ColumnType::Date, "date", &[]),
    (ColumnType::Time, "time", &["time without time zone"]),
    (
        ColumnType::Timestamp,
        "timestamp",
        &["timestamp without time zone"],
    ),
    (
        ColumnType::Timestamptz,
        "timestamptz",
        &["timestamp with time zone"],
    ),
    (ColumnType::Interval, "interval", &[]),
    (ColumnType::Json, "json", &["nested", "jsonb"]),
    (
        ColumnType::Text,
        "text",
        &["string", "varchar", "character varying"],
    ),
];

/// From narrowest to widest: inference takes the first type every cell fits.
const NARROWEST_FIRST: [ColumnType; 4] = [
    ColumnType::Integer,
    ColumnType::Numeric,
    ColumnType::Date,
    ColumnType::Time,
];

impl ColumnType {
    /// PostgreSQL's name of the type, which CKAN gives in `fields[].type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Array(inner) => match inner {
                ColumnType::Integer => "_int8",
                ColumnType::Int4 => "_int4",
                ColumnType::Int2 => "_int2",
                ColumnType::Numeric => "_numeric",
                ColumnType::Float8 => "_float8",
                ColumnType::Float4 => "_float4",
                ColumnType::Bool => "_bool",
                ColumnType::Date => "_date",
                ColumnType::Time => "_time",
                ColumnType::Timestamp => "_timestamp",
                ColumnType::Timestamptz => "_timestamptz",
                ColumnType::Interval => "_interval",
                ColumnType::Json => "_json",
                ColumnType::Text | ColumnType::Array(_) => "_text",
            },
            scalar => SCALARS
                .iter()
                .find(|(kind, _, _)| *kind == scalar)
                .map_or("text", |(_, name, _)| name),
        }
    }

    /// Reads a type name as CKAN clients and staff write it (`int`, `integer`, `float8`,
    /// `timestamp with time zone`, `text[]`, `_int4` …); `None` for a type the datastore
    /// does not have.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let element = name
            .strip_suffix("[]")
            .or_else(|| name.strip_prefix('_'))
            .map(str::trim_end);
        match element {
            Some(element) => Self::scalar(element).map(|(_, kind)| ColumnType::Array(kind)),
            None => Self::scalar(&name).map(|(kind, _)| kind),
        }
    }

    /// The scalar type of `name`, by value and as a `'static` reference for arrays.
    fn scalar(name: &str) -> Option<(ColumnType, &'static ColumnType)> {
        SCALARS
            .iter()
            .find(|(_, canonical, others)| *canonical == name || others.contains(&name))
            .map(|(kind, _, _)| (*kind, kind))
    }

    /// The type as a type of the column read from the registry, where machi's first datastore
    /// wrote bigint columns as `int`.
    fn stored(name: &str) -> Option<Self> {
        match name {
            "int" => Some(ColumnType::Integer),
            other => Self::parse(other),
        }
    }

    /// What staff call the type, in Japanese and English (`整数`, `a whole number`).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            ColumnType::Integer | ColumnType::Int4 | ColumnType::Int2 => ("整数", "a whole number"),
            ColumnType::Numeric | ColumnType::Float8 | ColumnType::Float4 => ("数値", "a number"),
            ColumnType::Date => ("日付", "a date"),
            ColumnType::Time => ("時刻", "a time"),
            ColumnType::Timestamp | ColumnType::Timestamptz => ("日時", "a date and time"),
            ColumnType::Interval => ("期間", "an interval"),
            ColumnType::Bool => ("真偽値", "true or false"),
            ColumnType::Json => ("JSON", "JSON"),
            ColumnType::Array(_) => ("配列", "an array"),
            ColumnType::Text => ("文字列", "text"),
        }
    }

    /// How values of this type are kept.
    pub fn storage(self) -> Storage {
        match self {
            ColumnType::Integer | ColumnType::Int4 | ColumnType::Int2 => Storage::Int,
            ColumnType::Numeric | ColumnType::Float8 | ColumnType::Float4 => Storage::Float,
            ColumnType::Bool => Storage::Bool,
            _ => Storage::Text,
        }
    }

    /// Whether `q` (full-text search over the whole record) looks into this column, as CKAN's
    /// full-text index covers text-like columns only.
    pub fn is_searched_as_text(self) -> bool {
        !matches!(
            self.storage(),
            Storage::Int | Storage::Float | Storage::Bool
        )
    }

    /// PostgreSQL's name of the type in its error messages (`invalid input syntax for type
    /// integer`), which CKAN passes on.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Integer => "bigint",
            ColumnType::Int4 => "integer",
            ColumnType::Int2 => "smallint",
            ColumnType::Float8 => "double precision",
            ColumnType::Float4 => "real",
            ColumnType::Bool => "boolean",
            ColumnType::Time => "time without time zone",
            ColumnType::Timestamp => "timestamp without time zone",
            ColumnType::Timestamptz => "timestamp with time zone",
            other => other.as_str(),
        }
    }

    /// The cell in this type's canonical form (`2024-04-01`, `09:00:00`, `1234`, `true`,
    /// `["a","b"]`), or `None` when it does not fit. Empty cells are handled by the caller.
    pub fn normalise(self, cell: &str) -> Option<String> {
        match self {
            ColumnType::Integer => integer(cell).map(|v| v.to_string()),
            ColumnType::Int4 => integer(cell)
                .filter(|v| i32::try_from(*v).is_ok())
                .map(|v| v.to_string()),
            ColumnType::Int2 => integer(cell)
                .filter(|v| i16::try_from(*v).is_ok())
                .map(|v| v.to_string()),
            ColumnType::Numeric | ColumnType::Float8 | ColumnType::Float4 => numeric(cell),
            ColumnType::Bool => boolean(cell).map(|b| b.to_string()),
            ColumnType::Date => date(cell).map(|d| d.format("%Y-%m-%d").to_string()),
            ColumnType::Time => time(cell).map(|t| t.format("%H:%M:%S").to_string()),
            ColumnType::Timestamp => super::values::timestamp(cell),
            ColumnType::Timestamptz => super::values::timestamptz(cell),
            ColumnType::Interval => super::interval::normalise(cell),
            ColumnType::Json => serde_json::from_str::<serde_json::Value>(cell)
                .ok()
                .map(|v| v.to_string()),
            ColumnType::Array(element) => super::values::array_text(*element, cell),
            ColumnType::Text => Some(cell.to_string()),
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ColumnType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ColumnType::stored(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown column type '{name}'")))
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

/// A boolean as PostgreSQL reads one: `true`/`false`, `t`/`f`, `yes`/`no`, `on`/`off`, `1`/`0`.
pub fn boolean(cell: &str) -> Option<bool> {
    match fold_width(cell.trim()).to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_names_are_read_and_reported_as_ckan_reports_them() {
        for (given, reported) in [
            ("int", "int4"),
            ("integer", "int4"),
            ("INT8", "int8"),
            ("bigint", "int8"),
            ("float", "float8"),
            ("double precision", "float8"),
            ("boolean", "bool"),
            ("timestamp", "timestamp"),
            ("timestamp with time zone", "timestamptz"),
            ("interval", "interval"),
            ("json", "json"),
            ("text[]", "_text"),
            ("_int4", "_int4"),
            ("int[]", "_int4"),
            ("numeric", "numeric"),
        ] {
            let kind = ColumnType::parse(given).unwrap_or_else(|| panic!("{given}"));
            assert_eq!(kind.as_str(), reported, "{given}");
            assert_eq!(ColumnType::parse(kind.as_str()), Some(kind), "{given}");
        }
        assert_eq!(ColumnType::parse("blob"), None);
        assert_eq!(ColumnType::parse("text[][]"), None);
    }

    #[test]
    fn the_first_datastore_s_int_columns_read_back_as_bigint() {
        let kind: ColumnType = serde_json::from_str("\"int\"").unwrap();
        assert_eq!(kind, ColumnType::Integer);
        assert_eq!(serde_json::to_string(&kind).unwrap(), "\"int8\"");
    }

    #[test]
    fn integers_keep_to_their_width() {
        assert_eq!(ColumnType::Int2.normalise("40000"), None);
        assert_eq!(
            ColumnType::Int4.normalise("2,147,483,647").as_deref(),
            Some("2147483647")
        );
        assert_eq!(ColumnType::Int4.normalise("2147483648"), None);
        assert_eq!(
            ColumnType::Bool.normalise("ｙｅｓ").as_deref(),
            Some("true")
        );
    }
}
