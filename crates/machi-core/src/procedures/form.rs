//! 申請フォーム: a form is JSON Schema 2020-12 (what is valid) plus UI hints (how to ask).
//!
//! This file holds the definition and its consistency check; [`super::compiled`] validates
//! answers against it after [`super::normalise`] has brought them to canonical form.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::compiled::CompiledForm;
use super::Localized;

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
    /// 条件付き表示: ask this only when another question has a given answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
    /// 繰り返し項目: the questions of each entry of a `group` (see [`super::group`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<UiHints>,
}

/// "Only when `field` is `equals`": a choice value, or `true`/`false` for a tick box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub equals: String,
}

impl Condition {
    /// Whether the answers meet the condition.
    pub fn holds(&self, answers: &Map<String, Value>) -> bool {
        match answers.get(&self.field) {
            Some(Value::String(value)) => *value == self.equals,
            Some(Value::Bool(value)) => value.to_string() == self.equals,
            Some(Value::Array(values)) => values.iter().any(|v| v.as_str() == Some(&self.equals)),
            _ => false,
        }
    }
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
    /// 個人番号: check-digit validated, then kept only as "given" (see [`crate::mynumber`]).
    MyNumber,
    /// 繰り返し項目: a list of entries, each answering the questions in [`FieldHint::items`].
    Group,
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
    /// JSON pointer to the answer, e.g. `/applicant_phone` or `/children/1/birth_date`.
    pub pointer: String,
    /// The input's HTML name, for linking to it: the field name, or `children[1].birth_date`
    /// for a question inside an entry of a repeatable group.
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
        problems.extend(check_hints("ui", &self.ui, properties));
        problems.extend(self.check_conditions());
        problems.extend(self.check_attachments());
        match self.compile() {
            Err(error) => problems.push(error.0),
            Ok(compiled) => match self.example() {
                None => problems.push("schema.examples: give one complete valid answer set".into()),
                Some(example) => {
                    let answers = example.as_object().cloned().unwrap_or_default();
                    if let Err(errors) = compiled.validate_stored(&answers) {
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

    /// A condition must name a question asked before the one it controls.
    fn check_conditions(&self) -> Vec<String> {
        let position = |name: &str| self.ui.order.iter().position(|n| n == name);
        self.ui
            .fields
            .iter()
            .filter_map(|(name, hint)| hint.show_if.as_ref().map(|c| (name, c)))
            .filter(|(name, condition)| {
                !matches!((position(&condition.field), position(name)), (Some(source), Some(own)) if source < own)
            })
            .map(|(name, condition)| {
                format!(
                    "ui.fields.{name}.show_if: '{}' must be a question before '{name}'",
                    condition.field
                )
            })
            .collect()
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
        Ok(CompiledForm::new(self.clone(), validator))
    }
}

/// Checks that hints and schema properties agree: every property ordered once and hinted, and
/// each hint fits its property (choices labelled, groups' questions hinted the same way).
pub(super) fn check_hints(
    path: &str,
    hints: &UiHints,
    properties: &Map<String, Value>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let declared: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    let ordered: BTreeSet<&str> = hints.order.iter().map(String::as_str).collect();
    if ordered.len() != hints.order.len() {
        problems.push(format!("{path}.order: lists a field twice"));
    }
    for missing in declared.difference(&ordered) {
        problems.push(format!("{path}.order: property '{missing}' is not listed"));
    }
    for extra in ordered.difference(&declared) {
        problems.push(format!("{path}.order: '{extra}' is not a schema property"));
    }
    for name in &declared {
        match hints.fields.get(*name) {
            None => problems.push(format!("{path}.fields: no hint for '{name}'")),
            Some(hint) => {
                problems.extend(check_options(name, hint, &properties[*name]));
                let at = format!("{path}.fields.{name}");
                problems.extend(super::group::check_group(&at, hint, &properties[*name]));
            }
        }
    }
    problems
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
        assert_eq!(errors[0].message.en, "Enter name");
        assert_eq!(errors[0].pointer, "/name");
        assert!(errors[2].message.ja.contains("令和元年"), "{:?}", errors[2]);
        assert!(errors[4].message.en.contains("06-1234-5678"));
        // Each message names its question first and says the problem once, in both languages.
        let said = |field: &str| {
            let error = errors.iter().find(|e| e.field == field).unwrap();
            (error.message.ja.clone(), error.message.en.clone())
        };
        assert_eq!(
            said("kana"),
            (
                "フリガナ：カタカナまたはひらがなで入力してください".into(),
                "Name in kana: use katakana or hiragana".into()
            )
        );
        assert_eq!(
            said("agree"),
            (
                "「同意」にチェックを入れてください".into(),
                "Tick the box “Consent”".into()
            )
        );
        assert_eq!(
            said("delivery"),
            (
                "受取方法：選択肢から選んでください".into(),
                "Delivery: select one of the choices".into()
            )
        );
        let no_such_day = compiled
            .validate(&answers(json!({"birth": "令和6年2月30日"})))
            .unwrap_err();
        let birth = no_such_day.iter().find(|e| e.field == "birth").unwrap();
        assert_eq!(birth.message.ja, "生年月日：その日付はありません");
        assert_eq!(birth.message.en, "Date of birth: that date does not exist");
        let unticked = compiled.validate(&answers(json!({}))).unwrap_err();
        let agree = unticked.iter().find(|e| e.field == "agree").unwrap();
        assert_eq!(agree.message.ja, "「同意」にチェックを入れてください");
    }

    #[test]
    fn english_labels_read_as_part_of_a_sentence() {
        use super::super::compiled::in_sentence;
        assert_eq!(in_sentence("Claimant's name"), "claimant's name");
        assert_eq!(
            in_sentence("I confirm that the answers are true"),
            "I confirm that the answers are true"
        );
        assert_eq!(in_sentence("JR station"), "JR station");
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
