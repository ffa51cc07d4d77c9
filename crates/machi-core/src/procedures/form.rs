//! 申請フォーム: a form is JSON Schema 2020-12 (what is valid) plus UI hints (how to ask).
//!
//! Answers are normalised by input kind before the schema sees them (全角 digits in a phone
//! number, hiragana in a kana field, 和暦 dates), so the schema only ever checks canonical
//! values, and every error comes back per field, in Japanese and English, with a JSON pointer.

use std::collections::{BTreeMap, BTreeSet};

use jsonschema::error::ValidationErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Localized;
use crate::text;
use crate::wareki::{self, DateError};

/// A versioned form: schema, UI hints and the files it asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    pub version: i64,
    pub schema: Value,
    pub ui: UiHints,
    #[serde(default)]
    pub attachments: Vec<AttachmentSpec>,
}

/// How to show each answer field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiHints {
    /// Property names in display order; every property exactly once.
    pub order: Vec<String>,
    pub fields: BTreeMap<String, FieldHint>,
}

/// Label, help and input kind of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldHint {
    pub label: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localized>,
    pub input: InputKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<String>,
    /// Labels of the allowed values, for select, radio and checkboxes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, Localized>,
}

/// The kinds of input a field can be; each has its own normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Text,
    Textarea,
    Kana,
    Date,
    Postcode,
    Phone,
    Email,
    Number,
    Select,
    Radio,
    Checkbox,
    Checkboxes,
}

/// A file the form asks for (添付書類).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSpec {
    pub name: String,
    pub label: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localized>,
    #[serde(default)]
    pub required: bool,
    pub accept: Vec<AttachmentKind>,
    pub max_bytes: u64,
}

/// File types accepted as attachments, recognised from their content, never their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Pdf,
    Jpeg,
    Png,
}

impl AttachmentKind {
    /// Recognises a file by its magic bytes. Written by hand: three fixed signatures.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Self::Png)
        } else {
            None
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
        }
    }
}

/// A form definition that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid form definition: {0}")]
pub struct FormError(pub String);

/// One wrong answer, for the error summary and the problem+json `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON pointer to the answer, e.g. `/applicant_phone`.
    pub pointer: String,
    /// The field name (the pointer's first segment), for linking to the input.
    pub field: String,
    pub message: Localized,
}

impl FieldError {
    pub fn new(field: &str, message: Localized) -> Self {
        Self {
            pointer: format!("/{field}"),
            field: field.to_string(),
            message,
        }
    }
}

impl FormDefinition {
    fn properties(&self) -> Option<&Map<String, Value>> {
        self.schema.get("properties").and_then(Value::as_object)
    }

    /// The first of the schema's `examples`: a complete valid answer set.
    pub fn example(&self) -> Option<&Value> {
        self.schema
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
    }

    /// Checks that schema, hints and example agree; messages say what to fix.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.version < 1 {
            problems.push("version: must be 1 or more".to_string());
        }
        let Some(properties) = self.properties() else {
            return Err(vec!["schema: needs an object of `properties`".to_string()]);
        };
        let declared: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
        let ordered: BTreeSet<&str> = self.ui.order.iter().map(String::as_str).collect();
        if ordered.len() != self.ui.order.len() {
            problems.push("ui.order: lists a field twice".to_string());
        }
        for missing in declared.difference(&ordered) {
            problems.push(format!("ui.order: property '{missing}' is not listed"));
        }
        for extra in ordered.difference(&declared) {
            problems.push(format!("ui.order: '{extra}' is not a schema property"));
        }
        for name in &declared {
            match self.ui.fields.get(*name) {
                None => problems.push(format!("ui.fields: no hint for '{name}'")),
                Some(hint) => problems.extend(check_options(name, hint, &properties[*name])),
            }
        }
        problems.extend(self.check_attachments());
        match self.compile() {
            Err(error) => problems.push(error.0),
            Ok(compiled) => match self.example() {
                None => problems.push("schema.examples: give one complete valid answer set".into()),
                Some(example) => {
                    let answers = example.as_object().cloned().unwrap_or_default();
                    if let Err(errors) = compiled.validate(&answers) {
                        for error in errors {
                            problems.push(format!(
                                "schema.examples[0]{}: {}",
                                error.pointer, error.message.en
                            ));
                        }
                    }
                }
            },
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn check_attachments(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for spec in &self.attachments {
            if !seen.insert(spec.name.as_str()) {
                problems.push(format!("attachments: '{}' appears twice", spec.name));
            }
            if self
                .properties()
                .is_some_and(|p| p.contains_key(&spec.name))
            {
                problems.push(format!(
                    "attachments: '{}' is also a schema property",
                    spec.name
                ));
            }
            if spec.accept.is_empty() {
                problems.push(format!(
                    "attachments.{}: accept at least one type",
                    spec.name
                ));
            }
            if spec.max_bytes == 0 || spec.max_bytes > 50 * 1024 * 1024 {
                problems.push(format!(
                    "attachments.{}: max_bytes must be 1 to 52428800",
                    spec.name
                ));
            }
        }
        problems
    }

    /// Compiles the schema (2020-12, formats checked) for validating answers.
    pub fn compile(&self) -> Result<CompiledForm, FormError> {
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&self.schema)
            .map_err(|e| FormError(format!("schema: {e}")))?;
        Ok(CompiledForm {
            definition: self.clone(),
            validator,
        })
    }
}

fn check_options(name: &str, hint: &FieldHint, property: &Value) -> Vec<String> {
    let allowed = match hint.input {
        InputKind::Select | InputKind::Radio => property.get("enum"),
        InputKind::Checkboxes => property.pointer("/items/enum"),
        _ => return Vec::new(),
    };
    let allowed: BTreeSet<&str> = allowed
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let labelled: BTreeSet<&str> = hint.options.keys().map(String::as_str).collect();
    if allowed.is_empty() {
        vec![format!("'{name}': a choice field needs an enum of strings")]
    } else if allowed != labelled {
        vec![format!(
            "ui.fields.{name}.options: must label exactly the enum values"
        )]
    } else {
        Vec::new()
    }
}

/// A form ready to validate answers.
pub struct CompiledForm {
    definition: FormDefinition,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for CompiledForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledForm")
            .field("version", &self.definition.version)
            .finish()
    }
}

impl CompiledForm {
    pub fn definition(&self) -> &FormDefinition {
        &self.definition
    }

    /// The fields in display order with their hints.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &FieldHint)> {
        self.definition.ui.order.iter().filter_map(|name| {
            self.definition
                .ui
                .fields
                .get(name)
                .map(|hint| (name.as_str(), hint))
        })
    }

    /// The allowed values of a choice field in the schema's order (the order the author chose).
    pub fn choices(&self, field: &str) -> Vec<&str> {
        let property = self
            .definition
            .schema
            .pointer(&format!("/properties/{field}"));
        property
            .and_then(|p| p.get("enum").or_else(|| p.pointer("/items/enum")))
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the schema lists `field` as required.
    pub fn is_required(&self, field: &str) -> bool {
        self.definition
            .schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(field)))
    }

    /// Builds an answer object from HTML form pairs: only this form's fields, checkboxes as a list.
    pub fn answers_from_pairs(&self, pairs: &[(String, String)]) -> Map<String, Value> {
        let mut answers = Map::new();
        for (name, hint) in self.fields() {
            let values: Vec<&str> = pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            let value = match (hint.input, values.as_slice()) {
                (InputKind::Checkboxes, []) => continue,
                (InputKind::Checkboxes, many) => {
                    Value::Array(many.iter().map(|v| Value::String(v.to_string())).collect())
                }
                (_, []) => continue,
                (_, [.., last]) => Value::String(last.to_string()),
            };
            answers.insert(name.to_string(), value);
        }
        answers
    }

    /// Normalises and validates answers; returns the canonical answers or every field error.
    pub fn validate(
        &self,
        raw: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
        let (answers, mut errors) = self.normalise(raw);
        let instance = Value::Object(answers);
        let failed: BTreeSet<String> = errors.iter().map(|e| e.field.clone()).collect();
        for error in self.validator.iter_errors(&instance) {
            let field_error = self.describe(&error.kind, error.instance_path.as_str());
            if !failed.contains(&field_error.field) && !errors.contains(&field_error) {
                errors.push(field_error);
            }
        }
        if errors.is_empty() {
            match instance {
                Value::Object(answers) => Ok(answers),
                _ => Ok(Map::new()),
            }
        } else {
            errors.sort_by_key(|e| self.position(&e.field));
            Err(errors)
        }
    }

    fn position(&self, field: &str) -> usize {
        self.definition
            .ui
            .order
            .iter()
            .position(|f| f == field)
            .unwrap_or(usize::MAX)
    }

    fn normalise(&self, raw: &Map<String, Value>) -> (Map<String, Value>, Vec<FieldError>) {
        let mut answers = Map::new();
        let mut errors = Vec::new();
        for (name, value) in raw {
            let Some(hint) = self.definition.ui.fields.get(name) else {
                answers.insert(name.clone(), value.clone());
                continue;
            };
            match normalise_value(hint.input, value) {
                Ok(Some(value)) => {
                    answers.insert(name.clone(), value);
                }
                Ok(None) => {}
                Err(message) => errors.push(FieldError::new(name, message)),
            }
        }
        (answers, errors)
    }

    fn label(&self, field: &str) -> Localized {
        match self.definition.ui.fields.get(field) {
            Some(hint) => hint.label.clone(),
            None => Localized::new(field, field),
        }
    }

    fn describe(&self, kind: &ValidationErrorKind, path: &str) -> FieldError {
        let path_field = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let (field, message) = match kind {
            ValidationErrorKind::Required { property } => {
                let field = property.as_str().unwrap_or_default().to_string();
                let message = self.missing_message(&field);
                (field, message)
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let field = unexpected.first().cloned().unwrap_or_default();
                let message = Localized::new(
                    format!("「{field}」はこの手続の項目ではありません"),
                    format!("'{field}' is not a field of this form"),
                );
                (field, message)
            }
            other => (
                path_field.to_string(),
                self.value_message(path_field, other),
            ),
        };
        FieldError::new(&field, message)
    }

    fn missing_message(&self, field: &str) -> Localized {
        let label = self.label(field);
        let choose = self.definition.ui.fields.get(field).is_some_and(|h| {
            matches!(
                h.input,
                InputKind::Select | InputKind::Radio | InputKind::Checkboxes
            )
        });
        if choose {
            Localized::new(
                format!("{}を選んでください", label.ja),
                format!("Select {}", label.get("en")),
            )
        } else {
            Localized::new(
                format!("{}を入力してください", label.ja),
                format!("Enter {}", label.get("en")),
            )
        }
    }

    fn value_message(&self, field: &str, kind: &ValidationErrorKind) -> Localized {
        let label = self.label(field);
        let (ja, en) = (label.ja.as_str(), label.get("en"));
        let input = self.definition.ui.fields.get(field).map(|h| h.input);
        match kind {
            ValidationErrorKind::MinLength { .. } | ValidationErrorKind::MinItems { .. } => {
                self.missing_message(field)
            }
            ValidationErrorKind::MaxLength { limit } => Localized::new(
                format!("{ja}は{limit}文字以内で入力してください"),
                format!("{en} must be {limit} characters or fewer"),
            ),
            ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Format { .. } => {
                format_message(input, ja, en)
            }
            ValidationErrorKind::Enum { .. } => Localized::new(
                format!("{ja}は選択肢から選んでください"),
                format!("Select {en} from the list"),
            ),
            ValidationErrorKind::Constant { .. } => Localized::new(
                format!("{ja}を確認して、チェックを入れてください"),
                format!("Read and tick {en}"),
            ),
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => Localized::new(
                format!("{ja}は{limit}以上にしてください"),
                format!("{en} must be {limit} or more"),
            ),
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => Localized::new(
                format!("{ja}は{limit}以下にしてください"),
                format!("{en} must be {limit} or less"),
            ),
            ValidationErrorKind::Type { .. } if input == Some(InputKind::Number) => Localized::new(
                format!("{ja}は数字で入力してください"),
                format!("{en} must be a number"),
            ),
            _ => Localized::new(
                format!("{ja}の内容を確認してください"),
                format!("Check {en}"),
            ),
        }
    }
}

fn format_message(input: Option<InputKind>, ja: &str, en: &str) -> Localized {
    match input {
        Some(InputKind::Kana) => Localized::new(
            format!("{ja}はカタカナまたはひらがなで入力してください"),
            format!("Enter {en} in kana (katakana or hiragana)"),
        ),
        Some(InputKind::Postcode) => Localized::new(
            format!("{ja}は 123-4567 のように7桁の数字で入力してください"),
            format!("Enter {en} as 7 digits, like 123-4567"),
        ),
        Some(InputKind::Phone) => Localized::new(
            format!("{ja}は 06-1234-5678 のように市外局番から入力してください"),
            format!("Enter {en} with the area code, like 06-1234-5678"),
        ),
        Some(InputKind::Email) => Localized::new(
            format!("{ja}は name@example.jp のような形で入力してください"),
            format!("Enter {en} like name@example.jp"),
        ),
        Some(InputKind::Date) => date_message(ja, en, None),
        _ => Localized::new(
            format!("{ja}の形式が正しくありません"),
            format!("{en} is not in the right format"),
        ),
    }
}

fn date_message(ja: &str, en: &str, error: Option<DateError>) -> Localized {
    match error {
        Some(DateError::NoSuchDay) => Localized::new(
            format!("{ja}にその日付はありません"),
            format!("{en} is not a real date"),
        ),
        Some(DateError::OutsideEra) => Localized::new(
            format!("{ja}の元号と年が合いません（平成31年5月1日は令和元年5月1日です）"),
            format!("{en}: that year is not in that era (Heisei 31 ended on 30 April 2019)"),
        ),
        _ => Localized::new(
            format!("{ja}は 令和6年4月1日、R6.4.1 または 2024-04-01 のように入力してください"),
            format!("Enter {en} like 2024-04-01 or R6.4.1"),
        ),
    }
}

/// Brings one answer to canonical form; `Ok(None)` means "not answered".
fn normalise_value(input: InputKind, value: &Value) -> Result<Option<Value>, Localized> {
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
        InputKind::Text | InputKind::Select | InputKind::Radio => text::clean_text(trimmed),
        InputKind::Kana => text::to_katakana_field(trimmed),
        InputKind::Email => text::fold_width(trimmed),
        InputKind::Postcode => normalise_postcode(trimmed),
        InputKind::Phone => normalise_phone(trimmed),
        InputKind::Date => match wareki::parse_date(trimmed) {
            Ok(date) => date.format("%Y-%m-%d").to_string(),
            Err(error) => return Err(date_message("日付", "the date", Some(error))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form() -> FormDefinition {
        serde_json::from_value(json!({
            "version": 1,
            "schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "required": ["name", "kana", "birth", "postcode", "phone", "copies", "delivery", "agree"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 10},
                    "kana": {"type": "string", "pattern": "^[ァ-ヶー　 ]+$"},
                    "birth": {"type": "string", "format": "date"},
                    "postcode": {"type": "string", "pattern": "^[0-9]{3}-[0-9]{4}$"},
                    "phone": {"type": "string", "pattern": "^0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}$"},
                    "copies": {"type": "integer", "minimum": 1, "maximum": 10},
                    "delivery": {"type": "string", "enum": ["window", "post"]},
                    "agree": {"type": "boolean", "const": true}
                },
                "examples": [{"name": "山田 太郎", "kana": "ヤマダ　タロウ", "birth": "1980-04-01",
                    "postcode": "567-0001", "phone": "06-1234-5678", "copies": 1,
                    "delivery": "window", "agree": true}]
            },
            "ui": {
                "order": ["name", "kana", "birth", "postcode", "phone", "copies", "delivery", "agree"],
                "fields": {
                    "name": {"label": {"ja": "氏名", "en": "Name"}, "input": "text"},
                    "kana": {"label": {"ja": "フリガナ", "en": "Name in kana"}, "input": "kana"},
                    "birth": {"label": {"ja": "生年月日", "en": "Date of birth"}, "input": "date"},
                    "postcode": {"label": {"ja": "郵便番号", "en": "Postcode"}, "input": "postcode"},
                    "phone": {"label": {"ja": "電話番号", "en": "Phone"}, "input": "phone"},
                    "copies": {"label": {"ja": "通数", "en": "Copies"}, "input": "number"},
                    "delivery": {"label": {"ja": "受取方法", "en": "Delivery"}, "input": "radio",
                        "options": {"window": {"ja": "窓口", "en": "Counter"}, "post": {"ja": "郵送", "en": "Post"}}},
                    "agree": {"label": {"ja": "同意", "en": "Consent"}, "input": "checkbox"}
                }
            }
        }))
        .unwrap()
    }

    fn answers(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_consistent_form_passes_its_own_check() {
        assert_eq!(form().check(), Ok(()));
    }

    #[test]
    fn typed_answers_in_any_width_and_era_become_canonical() {
        let compiled = form().compile().unwrap();
        let typed = answers(json!({
            "name": " 山田　太郎 ", "kana": "やまだ ﾀﾛｳ", "birth": "昭和55年4月1日",
            "postcode": "〒５６７０００１", "phone": "０９０１２３４５６７８", "copies": "２",
            "delivery": "post", "agree": "on"
        }));
        let clean = compiled.validate(&typed).unwrap();
        assert_eq!(clean["name"], "山田 太郎");
        assert_eq!(clean["kana"], "ヤマダ\u{3000}タロウ");
        assert_eq!(clean["birth"], "1980-04-01");
        assert_eq!(clean["postcode"], "567-0001");
        assert_eq!(clean["phone"], "090-1234-5678");
        assert_eq!(clean["copies"], 2);
        assert_eq!(clean["agree"], true);
    }

    #[test]
    fn every_wrong_field_gets_its_own_message_in_display_order() {
        let compiled = form().compile().unwrap();
        let wrong = answers(json!({
            "kana": "山田", "birth": "平成31年5月1日", "postcode": "12-34", "phone": "1234",
            "copies": 11, "delivery": "drone", "agree": false, "extra": 1
        }));
        let errors = compiled.validate(&wrong).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name", "kana", "birth", "postcode", "phone", "copies", "delivery", "agree",
                "extra"
            ]
        );
        assert_eq!(errors[0].message.ja, "氏名を入力してください");
        assert_eq!(errors[0].pointer, "/name");
        assert!(errors[2].message.ja.contains("令和元年"), "{:?}", errors[2]);
        assert!(errors[4].message.en.contains("06-1234-5678"));
    }

    #[test]
    fn empty_strings_count_as_not_answered() {
        let compiled = form().compile().unwrap();
        let mut example = answers(form().example().unwrap().clone());
        example.insert("name".into(), json!("   "));
        let errors = compiled.validate(&example).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "name");
    }

    #[test]
    fn html_pairs_keep_only_form_fields() {
        let compiled = form().compile().unwrap();
        let pairs = vec![
            ("name".to_string(), "x".to_string()),
            ("csrf".to_string(), "t".to_string()),
        ];
        let built = compiled.answers_from_pairs(&pairs);
        assert_eq!(built.len(), 1);
    }

    #[test]
    fn a_hint_missing_for_a_property_is_reported() {
        let mut broken = form();
        broken.ui.fields.remove("phone");
        broken.ui.order.retain(|f| f != "phone");
        let problems = broken.check().unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("'phone'")),
            "{problems:?}"
        );
    }

    #[test]
    fn file_types_are_recognised_from_content() {
        assert_eq!(
            AttachmentKind::sniff(b"%PDF-1.7"),
            Some(AttachmentKind::Pdf)
        );
        assert_eq!(
            AttachmentKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(AttachmentKind::Jpeg)
        );
        assert_eq!(AttachmentKind::sniff(b"MZ\x90\x00"), None);
    }
}
