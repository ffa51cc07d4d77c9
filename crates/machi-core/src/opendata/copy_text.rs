//! `datastore_search`'s `records_format` `csv` and `tsv`: the page's rows as the text
//! PostgreSQL's `COPY … TO STDOUT (FORMAT csv)` writes, which is what CKAN answers — no header,
//! every line ended by `\n`, NULL as an empty unquoted field, a value quoted (inner quotes
//! doubled) only when it holds the delimiter, a quote, CR or LF, or is the empty string;
//! booleans `t`/`f`, JSON and arrays as their JSON text.
//!
//! Written by hand rather than with the `csv` crate because the rule that tells NULL from the
//! empty string (unquoted empty vs `""`) is COPY's own and the crate cannot express it.

use serde_json::Value;

/// The delimiters CKAN's two text formats use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Tab,
}

impl Delimiter {
    fn char(self) -> char {
        match self {
            Delimiter::Comma => ',',
            Delimiter::Tab => '\t',
        }
    }
}

/// The rows (values as `datastore_search` gives them) as COPY's CSV text.
pub fn copy_text(rows: &[Vec<Value>], delimiter: Delimiter) -> String {
    let mut text = String::new();
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                text.push(delimiter.char());
            }
            push_field(&mut text, value, delimiter);
        }
        text.push('\n');
    }
    text
}

fn push_field(text: &mut String, value: &Value, delimiter: Delimiter) {
    let plain = match value {
        Value::Null => return,
        Value::Bool(true) => "t".to_string(),
        Value::Bool(false) => "f".to_string(),
        // PostgreSQL prints a whole float8 without its ".0".
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => (f as i64).to_string(),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let needs_quotes = plain.is_empty()
        || plain
            .chars()
            .any(|c| c == delimiter.char() || matches!(c, '"' | '\r' | '\n'));
    if needs_quotes {
        text.push('"');
        text.push_str(&plain.replace('"', "\"\""));
        text.push('"');
    } else {
        text.push_str(&plain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_are_written_as_postgresql_copy_writes_them() {
        let rows = vec![
            vec![json!(1), json!("北小学校"), json!(800), json!(true)],
            vec![json!(2), json!("南公園, 東側"), json!(null), json!(false)],
            vec![json!(3), json!(""), json!(1.0), json!({"a": [1]})],
            vec![
                json!(4),
                json!("「避難所」\"A\"\n2行目"),
                json!(-7),
                json!(null),
            ],
        ];
        assert_eq!(
            copy_text(&rows, Delimiter::Comma),
            "1,北小学校,800,t\n2,\"南公園, 東側\",,f\n3,\"\",1,\"{\"\"a\"\":[1]}\"\n4,\"「避難所」\"\"A\"\"\n2行目\",-7,\n"
        );
        assert_eq!(
            copy_text(&rows[..2], Delimiter::Tab),
            "1\t北小学校\t800\tt\n2\t南公園, 東側\t\tf\n"
        );
        assert_eq!(copy_text(&[], Delimiter::Comma), "");
    }
}
