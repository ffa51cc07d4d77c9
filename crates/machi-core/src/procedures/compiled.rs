//! Validating answers: normalise by input kind, check against the schema, and describe every
//! problem per field in Japanese and English with a JSON pointer, in display order.

use std::collections::BTreeSet;

use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

use super::form::{FieldError, FieldHint, FormDefinition, InputKind};
use super::group::{normalise_entries, split_entry_name};
use super::normalise::{date_problem, normalise_value};
use super::Localized;
use crate::mynumber::STORED_MARKER;

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
    pub(super) fn new(definition: FormDefinition, validator: jsonschema::Validator) -> Self {
        Self {
            definition,
            validator,
        }
    }

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
    /// The declarations a resident makes when sending the form (「記入した内容に誤りがないことを
    /// 確認しました」): the required tick boxes that end it. A check-answers page asks them after
    /// the answers, as GOV.UK's pattern does, rather than above the attachments.
    pub fn declarations(&self) -> Vec<&str> {
        let ui = &self.definition.ui;
        let mut trailing: Vec<&str> =
            ui.order
                .iter()
                .rev()
                .take_while(|name| {
                    ui.fields.get(*name).is_some_and(|hint| {
                        hint.input == InputKind::Checkbox && hint.show_if.is_none()
                    }) && self.is_required(name)
                })
                .map(String::as_str)
                .collect();
        trailing.reverse();
        trailing
    }

    pub fn is_required(&self, field: &str) -> bool {
        self.definition
            .schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(field)))
    }

    /// Builds an answer object from HTML form pairs: only this form's fields, checkboxes as a
    /// list, a group's entries (`children[0].name`, …) as an array of objects.
    pub fn answers_from_pairs(&self, pairs: &[(String, String)]) -> Map<String, Value> {
        let mut answers = Map::new();
        for (name, hint) in self.fields() {
            if hint.input == InputKind::Group {
                if let Some(entries) = self.entries_from_pairs(name, pairs) {
                    answers.insert(name.to_string(), entries);
                }
                continue;
            }
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
        let (mut answers, errors) = self.normalise(raw);
        self.drop_hidden(&mut answers);
        self.check_schema(answers, errors)
    }

    /// Validates answers already in canonical, stored form (examples, stored applications)
    /// against the schema, without normalising them again.
    pub fn validate_stored(&self, answers: &Map<String, Value>) -> Result<(), Vec<FieldError>> {
        self.check_schema(answers.clone(), Vec::new()).map(|_| ())
    }

    fn check_schema(
        &self,
        answers: Map<String, Value>,
        mut errors: Vec<FieldError>,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
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

    /// Validated answers made fit to keep: every My Number becomes [`STORED_MARKER`]. The
    /// only way to get [`StorableAnswers`], which is what storing an application takes.
    pub fn for_storage(&self, mut answers: Map<String, Value>) -> StorableAnswers {
        for (name, hint) in &self.definition.ui.fields {
            if hint.input == InputKind::MyNumber && answers.contains_key(name) {
                answers.insert(name.clone(), Value::String(STORED_MARKER.into()));
            }
        }
        StorableAnswers(answers)
    }

    /// Removes answers to questions whose condition does not hold (asked only sometimes).
    fn drop_hidden(&self, answers: &mut Map<String, Value>) {
        let hidden: Vec<String> = self
            .definition
            .ui
            .fields
            .iter()
            .filter(|(_, hint)| hint.show_if.as_ref().is_some_and(|c| !c.holds(answers)))
            .map(|(name, _)| name.clone())
            .collect();
        for name in hidden {
            answers.remove(&name);
        }
    }

    /// Where an error's input is on the page: its field, then entry and question in a group.
    fn position(&self, field: &str) -> (usize, usize, usize) {
        let place = |order: &[String], name: &str| {
            order.iter().position(|f| f == name).unwrap_or(usize::MAX)
        };
        let order = &self.definition.ui.order;
        match split_entry_name(field) {
            Some((group, index, sub)) => {
                let within = self
                    .definition
                    .ui
                    .fields
                    .get(group)
                    .and_then(|h| h.items.as_ref())
                    .map_or(usize::MAX, |items| place(&items.order, sub));
                (place(order, group), index + 1, within)
            }
            None => (place(order, field), 0, 0),
        }
    }

    fn normalise(&self, raw: &Map<String, Value>) -> (Map<String, Value>, Vec<FieldError>) {
        let mut answers = Map::new();
        let mut errors = Vec::new();
        for (name, value) in raw {
            let Some(hint) = self.definition.ui.fields.get(name) else {
                answers.insert(name.clone(), value.clone());
                continue;
            };
            if hint.input == InputKind::Group {
                let (entries, found) = normalise_entries(name, hint, value);
                answers.insert(name.clone(), entries);
                errors.extend(found);
                continue;
            }
            match normalise_value(hint.input, value) {
                Ok(Some(value)) => {
                    answers.insert(name.clone(), value);
                }
                Ok(None) => {}
                Err(problem) => {
                    errors.push(FieldError::new(name, labelled(&self.label(name), &problem)))
                }
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
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let path_field = segments.first().copied().unwrap_or_default();
        let is_group = |name: &str| {
            self.definition
                .ui
                .fields
                .get(name)
                .is_some_and(|h| h.input == InputKind::Group)
        };
        if let [group, index, rest @ ..] = segments.as_slice() {
            if let (true, Ok(index)) = (is_group(group), index.parse::<usize>()) {
                return self.describe_in_entry(group, index, rest.first().copied(), kind);
            }
        }
        let (field, message) = match kind {
            ValidationErrorKind::Required { property } => {
                let field = property.as_str().unwrap_or_default().to_string();
                let message =
                    missing_message(&self.label(&field), self.hint(&field).map(|h| h.input));
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
                value_message(
                    &self.label(path_field),
                    self.hint(path_field).map(|h| h.input),
                    other,
                ),
            ),
        };
        FieldError::new(&field, message)
    }

    fn hint(&self, field: &str) -> Option<&FieldHint> {
        self.definition.ui.fields.get(field)
    }
}

/// An error message that names its question first: 「生年月日：その日付はありません」,
/// "Date of birth: that date does not exist". Every answer that is there but wrong is told
/// this way, so a message read alone (in an error summary, by a screen reader) says where.
pub(super) fn labelled(label: &Localized, problem: &Localized) -> Localized {
    Localized::new(
        format!("{}：{}", label.ja, problem.ja),
        format!("{}: {}", label.get("en"), problem.get("en")),
    )
}

/// An English label inside a sentence ("Enter your name"): lower case first, unless it starts
/// with "I" or an acronym (JR, NPO).
pub(super) fn in_sentence(label: &str) -> String {
    let mut chars = label.chars();
    let (Some(first), second) = (chars.next(), chars.next()) else {
        return label.to_string();
    };
    let keeps_case = second.is_some_and(char::is_uppercase)
        || label == "I"
        || label.starts_with("I ")
        || label.starts_with("I'");
    if keeps_case {
        label.to_string()
    } else {
        first.to_lowercase().chain(label.chars().skip(1)).collect()
    }
}

/// What a question left unanswered is told, by its kind: enter, select, or tick.
pub(super) fn missing_message(label: &Localized, input: Option<InputKind>) -> Localized {
    let en = in_sentence(label.get("en"));
    match input {
        Some(InputKind::Select | InputKind::Radio | InputKind::Checkboxes) => Localized::new(
            format!("{}を選んでください", label.ja),
            format!("Select {en}"),
        ),
        // A declaration: 「…を確認しました」 is ticked, not typed.
        Some(InputKind::Checkbox) => Localized::new(
            format!("「{}」にチェックを入れてください", label.ja),
            format!("Tick the box “{}”", label.get("en")),
        ),
        _ => Localized::new(
            format!("{}を入力してください", label.ja),
            format!("Enter {en}"),
        ),
    }
}

/// What is wrong with an answer that is there, by the schema keyword it broke.
pub(super) fn value_message(
    label: &Localized,
    input: Option<InputKind>,
    kind: &ValidationErrorKind,
) -> Localized {
    let problem = |ja: String, en: String| labelled(label, &Localized::new(ja, en));
    match kind {
        ValidationErrorKind::MinLength { .. } | ValidationErrorKind::MinItems { .. } => {
            missing_message(label, input)
        }
        ValidationErrorKind::Constant { .. } => missing_message(label, Some(InputKind::Checkbox)),
        ValidationErrorKind::MaxItems { limit } => problem(
            format!("{limit}件までにしてください"),
            format!("{limit} entries at most"),
        ),
        ValidationErrorKind::MaxLength { limit } => problem(
            format!("{limit}文字以内で入力してください"),
            format!("{limit} characters at most"),
        ),
        ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Format { .. } => {
            labelled(label, &format_problem(input))
        }
        ValidationErrorKind::Enum { .. } => problem(
            "選択肢から選んでください".into(),
            "select one of the choices".into(),
        ),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => problem(
            format!("{limit}以上にしてください"),
            format!("{limit} or more"),
        ),
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => problem(
            format!("{limit}以下にしてください"),
            format!("{limit} or less"),
        ),
        ValidationErrorKind::Type { .. } if input == Some(InputKind::Number) => {
            problem("数字で入力してください".into(), "enter a number".into())
        }
        _ => problem(
            "内容を確認してください".into(),
            "check what you entered".into(),
        ),
    }
}

/// How an answer of each kind must be written (without the question's name).
fn format_problem(input: Option<InputKind>) -> Localized {
    match input {
        Some(InputKind::Kana) => Localized::new(
            "カタカナまたはひらがなで入力してください",
            "use katakana or hiragana",
        ),
        Some(InputKind::Postcode) => Localized::new(
            "123-4567 のように7桁の数字で入力してください",
            "7 digits, like 123-4567",
        ),
        Some(InputKind::Phone) => Localized::new(
            "06-1234-5678 のように市外局番から入力してください",
            "include the area code, like 06-1234-5678",
        ),
        Some(InputKind::Email) => Localized::new(
            "name@example.jp のような形で入力してください",
            "an address like name@example.jp",
        ),
        Some(InputKind::Date) => date_problem(None),
        _ => Localized::new("形式が正しくありません", "not in the right format"),
    }
}

/// Answers cleared for storage by [`CompiledForm::for_storage`] (no My Number left in them).
#[derive(Debug, Clone, PartialEq)]
pub struct StorableAnswers(Map<String, Value>);

impl StorableAnswers {
    pub fn into_inner(self) -> Map<String, Value> {
        self.0
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}
