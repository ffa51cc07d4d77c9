//! Datastore values as CKAN clients send and read them: a JSON value in a record becomes a
//! [`Cell`] of its field's type (or PostgreSQL's error for it, which CKAN passes on), a stored
//! cell becomes the JSON CKAN's `datastore_search` gives, and a field declared without a type
//! gets the type CKAN guesses from the first record.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::ingest::Cell;
use super::types::{ColumnType, Storage};

/// The formats of a timestamp without a zone that PostgreSQL reads and clients send.
const TIMESTAMP_FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// A timestamp without time zone, canonical `2024-04-01T09:00:00` (with a fraction when it
/// has one); a zone given is ignored, as PostgreSQL ignores it for this type.
pub fn timestamp(cell: &str) -> Option<String> {
    let cell = cell.trim();
    let naive = DateTime::parse_from_rfc3339(cell)
        .map(|t| t.naive_local())
        .ok()
        .or_else(|| naive_timestamp(cell))?;
    Some(naive.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
}

fn naive_timestamp(cell: &str) -> Option<NaiveDateTime> {
    TIMESTAMP_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(cell, format).ok())
        .or_else(|| {
            let date = NaiveDate::parse_from_str(cell, "%Y-%m-%d")
                .ok()
                .or_else(|| super::types::date(cell))?;
            date.and_hms_opt(0, 0, 0)
        })
}

/// A timestamp with time zone, canonical in UTC (`2024-04-01T00:00:00+00:00`); one given
/// without a zone is read as UTC, PostgreSQL's default session zone.
pub fn timestamptz(cell: &str) -> Option<String> {
    let cell = cell.trim();
    let utc = DateTime::parse_from_rfc3339(cell)
        .or_else(|_| DateTime::parse_from_str(cell, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|t| t.naive_utc())
        .ok()
        .or_else(|| naive_timestamp(cell))?;
    Some(utc.format("%Y-%m-%dT%H:%M:%S%.f+00:00").to_string())
}

/// An array given as JSON text (`["a","b"]`) or as PostgreSQL's literal (`{a,b}`), as the
/// JSON text of its canonical elements; `None` when an element does not fit.
pub fn array_text(element: ColumnType, cell: &str) -> Option<String> {
    let items = match serde_json::from_str::<Value>(cell) {
        Ok(Value::Array(items)) => items,
        _ => postgres_array_literal(cell)?,
    };
    let cells = items
        .iter()
        .map(|item| cell_from_json(element, item).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(Value::Array(cells.into_iter().map(|c| plain_json(element, c)).collect()).to_string())
}

/// `{a,"b c",NULL}` as JSON values: elements split at commas outside double quotes.
fn postgres_array_literal(cell: &str) -> Option<Vec<Value>> {
    let body = cell.trim().strip_prefix('{')?.strip_suffix('}')?;
    if body.trim().is_empty() {
        return Some(Vec::new());
    }
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '\\' if quoted => current.push(chars.next()?),
            ',' if !quoted => {
                items.push(literal_item(&current, was_quoted));
                current.clear();
                was_quoted = false;
            }
            c => current.push(c),
        }
    }
    if quoted {
        return None;
    }
    items.push(literal_item(&current, was_quoted));
    Some(items)
}

fn literal_item(text: &str, quoted: bool) -> Value {
    let text = if quoted { text } else { text.trim() };
    if !quoted && text.eq_ignore_ascii_case("null") {
        Value::Null
    } else {
        Value::String(text.to_string())
    }
}

/// PostgreSQL's refusal of `value` for a column of `kind`, as CKAN passes it on.
fn refusal(kind: ColumnType, value: &Value) -> String {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match kind {
        ColumnType::Integer | ColumnType::Int4 | ColumnType::Int2
            if matches!(value, Value::Number(_)) || shown.trim().parse::<i128>().is_ok() =>
        {
            format!(
                "value \"{shown}\" is out of range for type {}",
                kind.sql_name()
            )
        }
        ColumnType::Array(_) => format!("malformed array literal: \"{shown}\""),
        _ => format!(
            "invalid input syntax for type {}: \"{shown}\"",
            kind.sql_name()
        ),
    }
}

/// A record's value as a cell of a field of `kind`: `null` (and `""` outside text, as CKAN
/// treats it) is NULL; numbers, strings, booleans, arrays and objects where the type takes them.
pub fn cell_from_json(kind: ColumnType, value: &Value) -> Result<Cell, String> {
    let refused = || refusal(kind, value);
    let text = match value {
        Value::Null => return Ok(Cell::Null),
        Value::String(s) if s.is_empty() && kind != ColumnType::Text => return Ok(Cell::Null),
        Value::String(s) => s.clone(),
        Value::Number(n) => match kind.storage() {
            Storage::Int => {
                let whole = n.as_i64().ok_or_else(refused)?;
                return kind
                    .normalise(&whole.to_string())
                    .map(|_| Cell::Int(whole))
                    .ok_or_else(refused);
            }
            Storage::Float => return n.as_f64().map(Cell::Numeric).ok_or_else(refused),
            Storage::Bool => return Err(refused()),
            Storage::Text => n.to_string(),
        },
        Value::Bool(b) => match kind {
            ColumnType::Bool => return Ok(Cell::Bool(*b)),
            ColumnType::Text | ColumnType::Json => b.to_string(),
            _ => return Err(refused()),
        },
        Value::Array(_) | Value::Object(_) => match kind {
            ColumnType::Json => return Ok(Cell::Text(value.to_string())),
            ColumnType::Array(element) if value.is_array() => {
                let canonical = array_text(*element, &value.to_string()).ok_or_else(refused)?;
                return Ok(Cell::Text(canonical));
            }
            _ => return Err(refused()),
        },
    };
    match kind {
        // A JSON string is a JSON value of its own.
        ColumnType::Json => return Ok(Cell::Text(value.to_string())),
        // Text is kept as sent, spaces and all.
        ColumnType::Text => return Ok(Cell::Text(text)),
        _ => {}
    }
    super::ingest::typed_cell(kind, &text)
        .filter(|cell| *cell != Cell::Null)
        .ok_or_else(refused)
}

/// A cell as `datastore_search` gives it: numbers and booleans as JSON's, a timestamp to the
/// second (CKAN's default), JSON and arrays as the values they hold, the rest as strings.
pub fn render(kind: ColumnType, cell: Cell) -> Value {
    match (kind, cell) {
        (_, Cell::Null) => Value::Null,
        (ColumnType::Timestamp, Cell::Text(text)) => {
            Value::String(text.get(..19).unwrap_or(&text).to_string())
        }
        (ColumnType::Json | ColumnType::Array(_), Cell::Text(text)) => {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        (ColumnType::Bool, Cell::Int(i)) => Value::Bool(i != 0),
        (_, cell) => plain_json(kind, cell),
    }
}

fn plain_json(kind: ColumnType, cell: Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(i) if kind == ColumnType::Bool => Value::Bool(i != 0),
        Cell::Int(i) => Value::from(i),
        Cell::Numeric(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Cell::Bool(b) => Value::Bool(b),
        Cell::Text(text) if kind == ColumnType::Json => {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        Cell::Text(text) => Value::String(text),
    }
}

/// The type CKAN gives a field declared without one, from its value in the first record:
/// JSON numbers are `int`/`float`, lists and objects JSON, and text is tried as an integer,
/// a number and an ISO timestamp before it stays text.
pub fn guess_type(value: &Value) -> ColumnType {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => ColumnType::Int4,
        Value::Number(_) => ColumnType::Float8,
        Value::Bool(_) => ColumnType::Bool,
        Value::Array(_) | Value::Object(_) => ColumnType::Json,
        Value::String(s) if s.trim().parse::<i64>().is_ok() => ColumnType::Int4,
        Value::String(s) if s.trim().parse::<f64>().is_ok() => ColumnType::Numeric,
        Value::String(s) if looks_like_iso_timestamp(s) => ColumnType::Timestamp,
        _ => ColumnType::Text,
    }
}

fn looks_like_iso_timestamp(text: &str) -> bool {
    let text = text.trim();
    // `get`, not indexing: byte 10 may fall inside a character (2024年04月01日).
    text.get(..10)
        .is_some_and(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok())
        && timestamp(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_become_cells_or_postgres_errors() {
        assert_eq!(
            cell_from_json(ColumnType::Int4, &json!("2,500")),
            Ok(Cell::Int(2500))
        );
        assert_eq!(
            cell_from_json(ColumnType::Int4, &json!("多い")).unwrap_err(),
            "invalid input syntax for type integer: \"多い\""
        );
        assert_eq!(
            cell_from_json(ColumnType::Int4, &json!(3_000_000_000i64)).unwrap_err(),
            "value \"3000000000\" is out of range for type integer"
        );
        assert_eq!(
            cell_from_json(ColumnType::Float8, &json!("")),
            Ok(Cell::Null)
        );
        assert_eq!(
            cell_from_json(ColumnType::Bool, &json!("yes")),
            Ok(Cell::Bool(true))
        );
        assert!(cell_from_json(ColumnType::Bool, &json!(1)).is_err());
        assert_eq!(
            cell_from_json(ColumnType::Json, &json!({"a": [1, 2]})),
            Ok(Cell::Text("{\"a\":[1,2]}".into()))
        );
        let tags = ColumnType::parse("text[]").unwrap();
        assert_eq!(
            cell_from_json(tags, &json!(["防災", "AED"])),
            Ok(Cell::Text("[\"防災\",\"AED\"]".into()))
        );
        assert_eq!(
            cell_from_json(tags, &json!("{防災,\"A, B\",NULL}")),
            Ok(Cell::Text("[\"防災\",\"A, B\",null]".into()))
        );
        let counts = ColumnType::parse("int4[]").unwrap();
        assert!(cell_from_json(counts, &json!([1, "x"])).is_err());
    }

    #[test]
    fn times_are_kept_canonical_and_given_as_ckan_gives_them() {
        assert_eq!(
            timestamp("2024-04-01 09:30:00").as_deref(),
            Some("2024-04-01T09:30:00")
        );
        assert_eq!(
            timestamp("2024-04-01").as_deref(),
            Some("2024-04-01T00:00:00")
        );
        assert_eq!(
            timestamptz("2024-04-01T09:00:00+09:00").as_deref(),
            Some("2024-04-01T00:00:00+00:00")
        );
        let stored = Cell::Text(timestamp("2024-04-01T09:30:00.25").unwrap());
        assert_eq!(
            render(ColumnType::Timestamp, stored),
            json!("2024-04-01T09:30:00")
        );
        assert_eq!(render(ColumnType::Bool, Cell::Int(1)), json!(true));
    }

    #[test]
    fn types_are_guessed_from_the_first_record_as_ckan_guesses() {
        assert_eq!(guess_type(&json!(5)), ColumnType::Int4);
        assert_eq!(guess_type(&json!(5.5)), ColumnType::Float8);
        assert_eq!(guess_type(&json!("12")), ColumnType::Int4);
        assert_eq!(guess_type(&json!("1.5")), ColumnType::Numeric);
        assert_eq!(
            guess_type(&json!("2024-04-01T09:00:00")),
            ColumnType::Timestamp
        );
        assert_eq!(guess_type(&json!([1])), ColumnType::Json);
        assert_eq!(guess_type(&json!("大阪")), ColumnType::Text);
        assert_eq!(guess_type(&json!("2024年04月01日")), ColumnType::Text);
    }
}
