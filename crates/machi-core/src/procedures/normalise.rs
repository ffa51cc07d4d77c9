//! Bringing answers to canonical form before validation: 全角 digits and dashes, any kana into
//! katakana, 和暦 or 西暦 dates into ISO dates, hyphens into phone numbers and postcodes.

use serde_json::Value;

use super::form::InputKind;
use super::Localized;
use crate::text;
use crate::wareki::{self, DateError};

/// Brings one answer to canonical form; `Ok(None)` means "not answered". An error is the
/// problem alone; the caller names the question (see `compiled::labelled`).
pub(super) fn normalise_value(input: InputKind, value: &Value) -> Result<Option<Value>, Localized> {
    let Value::String(raw) = value else {
        return Ok(Some(normalise_non_string(input, value)));
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if text::has_control_chars(trimmed, input == InputKind::Textarea) {
        return Err(Localized::new(
            "使用できない文字（制御文字）が含まれています",
            "contains characters that cannot be used (control characters)",
        ));
    }
    let canonical = match input {
        InputKind::Textarea => trimmed.replace("\r\n", "\n"),
        // A group's answer is a list; typed text is left for the schema to refuse.
        InputKind::Group => trimmed.to_string(),
        InputKind::Text | InputKind::Select | InputKind::Radio => text::clean_text(trimmed),
        InputKind::Kana => text::to_katakana_field(trimmed),
        InputKind::Email => text::fold_width(trimmed),
        InputKind::Postcode => normalise_postcode(trimmed),
        InputKind::Phone => normalise_phone(trimmed),
        InputKind::Date => match wareki::parse_date(trimmed) {
            Ok(date) => date.format("%Y-%m-%d").to_string(),
            Err(error) => return Err(date_problem(Some(error))),
        },
        InputKind::Number => {
            let digits: String = text::fold_width(trimmed)
                .chars()
                .filter(|c| *c != ',')
                .collect();
            return match digits.parse::<i64>() {
                Ok(n) => Ok(Some(Value::from(n))),
                Err(_) => Ok(Some(Value::String(digits))),
            };
        }
        InputKind::Checkbox => {
            let yes = matches!(
                text::search_key(trimmed).as_str(),
                "on" | "true" | "1" | "yes" | "はい"
            );
            return Ok(Some(Value::Bool(yes)));
        }
        InputKind::Checkboxes => {
            return Ok(Some(Value::Array(vec![Value::String(trimmed.into())])))
        }
        // The message never repeats what was typed (it must not reach logs or pages twice).
        InputKind::MyNumber => crate::mynumber::parse(trimmed).ok_or_else(|| {
            Localized::new(
                "12桁の数字で、正しい番号を入力してください（検査用数字が合いません）",
                "enter the 12 digits correctly (the check digit does not match)",
            )
        })?,
    };
    Ok(Some(Value::String(canonical)))
}

fn normalise_non_string(input: InputKind, value: &Value) -> Value {
    match (input, value) {
        (InputKind::Checkboxes, Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Value::String(s.trim().to_string()),
                    other => other.clone(),
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

fn normalise_postcode(input: &str) -> String {
    let folded = text::fold_digits_and_dashes(input.trim_start_matches('〒'));
    let digits: String = folded.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 7 && folded.chars().all(|c| c.is_ascii_digit() || c == '-') {
        format!("{}-{}", &digits[..3], &digits[3..])
    } else {
        folded
    }
}

/// Puts hyphens in phone numbers typed without them where the split is unambiguous: mobile and
/// IP phones (0X0 + 8 digits), 0120/0800 free-dial, and 06 (Osaka city).
fn normalise_phone(input: &str) -> String {
    let folded: String = text::fold_digits_and_dashes(input)
        .replace(['(', ')', '（', '）'], "-")
        .trim_matches('-')
        .replace("--", "-");
    if !folded.chars().all(|c| c.is_ascii_digit()) {
        return folded;
    }
    let d = folded.as_str();
    let mobile = d.len() == 11
        && ["070", "080", "090", "050"]
            .iter()
            .any(|p| d.starts_with(p));
    if mobile {
        format!("{}-{}-{}", &d[..3], &d[3..7], &d[7..])
    } else if d.len() == 10 && (d.starts_with("0120") || d.starts_with("0800")) {
        format!("{}-{}-{}", &d[..4], &d[4..7], &d[7..])
    } else if d.len() == 10 && d.starts_with("06") {
        format!("{}-{}-{}", &d[..2], &d[2..6], &d[6..])
    } else {
        folded
    }
}

/// What is wrong with a date that could not be read, by reason.
pub(super) fn date_problem(error: Option<DateError>) -> Localized {
    match error {
        Some(DateError::NoSuchDay) => {
            Localized::new("その日付はありません", "that date does not exist")
        }
        Some(DateError::OutsideEra) => Localized::new(
            "元号と年が合いません（平成31年5月1日は令和元年5月1日です）",
            "that year is not in that era (Heisei 31 ended on 30 April 2019)",
        ),
        _ => Localized::new(
            "令和6年4月1日、R6.4.1 または 2024-04-01 のように入力してください",
            "a date like 2024-04-01 or R6.4.1",
        ),
    }
}

/// One typed answer in canonical form, as text: for fields outside a form, such as the
/// resident's profile, so that they are normalised exactly like form answers.
pub fn normalise_typed(input: InputKind, typed: &str) -> Result<Option<String>, Localized> {
    normalise_value(input, &Value::String(typed.to_string())).map(|value| {
        value.map(|value| match value {
            Value::String(text) => text,
            other => other.to_string(),
        })
    })
}
