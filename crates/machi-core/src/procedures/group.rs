//! 繰り返し項目 (repeatable groups): questions answered once per entry, such as each child's
//! name, kana and birth date.
//!
//! In the schema a group is an array of objects; its hint ([`InputKind::Group`]) lists the
//! questions of one entry in [`FieldHint::items`]. Pages work without JavaScript, so they show
//! a fixed number of numbered entries whose inputs are named `children[0].name`; entries left
//! blank are dropped, each answer is normalised by its own kind, and an error names the entry
//! and links to the exact input. Questions inside a group are plain: no nested groups, no My
//! Number, no multiple-choice boxes and no conditions.

use serde_json::{Map, Value};

use super::compiled::{labelled, missing_message, value_message, CompiledForm};
use super::form::{check_hints, FieldError, FieldHint, InputKind};
use super::normalise::normalise_value;
use super::Localized;

/// Entries a page offers when the schema sets no `maxItems`.
pub const DEFAULT_MAX_ITEMS: usize = 5;

/// The HTML name of question `sub` in entry `index` (counted from 0): `children[0].name`.
pub fn entry_input_name(group: &str, index: usize, sub: &str) -> String {
    format!("{group}[{index}].{sub}")
}

/// Splits an entry's input name `children[1].name` into `("children", 1, "name")`.
pub fn split_entry_name(name: &str) -> Option<(&str, usize, &str)> {
    let (group, rest) = name.split_once('[')?;
    let (index, sub) = rest.split_once("].")?;
    Some((group, index.parse().ok()?, sub))
}

/// Whether a question of this kind may be asked inside a group.
pub fn allowed_in_group(input: InputKind) -> bool {
    !matches!(
        input,
        InputKind::Group | InputKind::MyNumber | InputKind::Checkboxes
    )
}

/// The problems of a field's group hint against its schema property (none for other fields).
pub(super) fn check_group(path: &str, hint: &FieldHint, property: &Value) -> Vec<String> {
    let items = match (hint.input, &hint.items) {
        (InputKind::Group, Some(items)) => items,
        (InputKind::Group, None) => {
            return vec![format!(
                "{path}.items: give the hints of the group's questions"
            )]
        }
        (_, Some(_)) => {
            return vec![format!(
                "{path}.items: only a group (input: group) has questions of its own"
            )]
        }
        (_, None) => return Vec::new(),
    };
    let entry = property.get("items");
    let shaped = property.get("type").and_then(Value::as_str) == Some("array")
        && entry.and_then(|e| e.get("type")).and_then(Value::as_str) == Some("object");
    let Some(properties) = entry
        .and_then(|e| e.get("properties"))
        .and_then(Value::as_object)
        .filter(|_| shaped)
    else {
        return vec![format!(
            "{path}: a group's schema is an array whose items are objects with properties"
        )];
    };
    let mut problems = check_hints(&format!("{path}.items"), items, properties);
    if items.order.is_empty() {
        problems.push(format!(
            "{path}.items: add at least one question to the group"
        ));
    }
    for (name, sub) in &items.fields {
        if !allowed_in_group(sub.input) {
            problems.push(format!(
                "{path}.items.fields.{name}: a group cannot hold groups, My Number or \
                 multiple-choice boxes"
            ));
        }
        if sub.show_if.is_some() {
            problems.push(format!(
                "{path}.items.fields.{name}.show_if: questions inside a group have no conditions"
            ));
        }
    }
    problems
}

impl CompiledForm {
    /// The questions of each entry of `group`, in display order (empty for other fields).
    pub fn group_fields(&self, group: &str) -> Vec<(&str, &FieldHint)> {
        let Some(items) = self
            .definition()
            .ui
            .fields
            .get(group)
            .and_then(|h| h.items.as_ref())
        else {
            return Vec::new();
        };
        items
            .order
            .iter()
            .filter_map(|name| items.fields.get(name).map(|hint| (name.as_str(), hint)))
            .collect()
    }

    fn group_schema(&self, group: &str) -> Option<&Value> {
        self.definition()
            .schema
            .get("properties")
            .and_then(|p| p.get(group))
    }

    /// How many entries a page offers: the schema's `maxItems`, or [`DEFAULT_MAX_ITEMS`].
    pub fn max_items(&self, group: &str) -> usize {
        self.group_schema(group)
            .and_then(|g| g.get("maxItems"))
            .and_then(Value::as_u64)
            .map_or(DEFAULT_MAX_ITEMS, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            })
    }

    /// How many entries must be given (the schema's `minItems`, else 0).
    pub fn min_items(&self, group: &str) -> usize {
        self.group_schema(group)
            .and_then(|g| g.get("minItems"))
            .and_then(Value::as_u64)
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn entry_property(&self, group: &str, sub: &str) -> Option<&Value> {
        self.group_schema(group)?
            .get("items")?
            .get("properties")?
            .get(sub)
    }

    /// The allowed values of a choice question inside a group, in the schema's order.
    pub fn entry_choices(&self, group: &str, sub: &str) -> Vec<&str> {
        self.entry_property(group, sub)
            .and_then(|p| p.get("enum"))
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether each entry given must answer `sub`.
    pub fn is_required_in_entry(&self, group: &str, sub: &str) -> bool {
        self.group_schema(group)
            .and_then(|g| g.pointer("/items/required"))
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(sub)))
    }

    /// The entries typed on a page, as an array of objects; entries left blank are dropped
    /// (so the array is compact), and `None` when no entry was filled in.
    pub(super) fn entries_from_pairs(
        &self,
        group: &str,
        pairs: &[(String, String)],
    ) -> Option<Value> {
        let questions = self.group_fields(group);
        let entries: Vec<Value> = (0..self.max_items(group))
            .filter_map(|index| {
                let entry: Map<String, Value> = questions
                    .iter()
                    .filter_map(|(sub, _)| {
                        let name = entry_input_name(group, index, sub);
                        pairs
                            .iter()
                            .rev()
                            .find(|(k, _)| *k == name)
                            .filter(|(_, v)| !v.trim().is_empty())
                            .map(|(_, v)| (sub.to_string(), Value::String(v.clone())))
                    })
                    .collect();
                (!entry.is_empty()).then_some(Value::Object(entry))
            })
            .collect();
        (!entries.is_empty()).then_some(Value::Array(entries))
    }

    /// Describes a schema error inside entry `index` of `group` (`sub`: the question, if the
    /// error's path reaches one).
    pub(super) fn describe_in_entry(
        &self,
        group: &str,
        index: usize,
        sub: Option<&str>,
        kind: &jsonschema::error::ValidationErrorKind,
    ) -> FieldError {
        use jsonschema::error::ValidationErrorKind as Kind;
        let Some(hint) = self.definition().ui.fields.get(group) else {
            return FieldError::new(group, Localized::new(group, group));
        };
        let sub_hint = |name: &str| hint.items.as_ref().and_then(|i| i.fields.get(name));
        let label = |name: &str| {
            let question =
                sub_hint(name).map_or_else(|| Localized::new(name, name), |h| h.label.clone());
            entry_label(&hint.label, index, &question)
        };
        let (sub, message) = match (kind, sub) {
            (Kind::Required { property }, _) => {
                let name = property.as_str().unwrap_or_default().to_string();
                let message = missing_message(&label(&name), sub_hint(&name).map(|h| h.input));
                (Some(name), message)
            }
            (Kind::AdditionalProperties { unexpected }, _) => {
                let name = unexpected.first().cloned().unwrap_or_default();
                let message = Localized::new(
                    format!("「{name}」はこの項目ではありません"),
                    format!("'{name}' is not a question of this entry"),
                );
                (None, in_entry(&hint.label, index, message))
            }
            (other, Some(name)) => {
                let message = value_message(&label(name), sub_hint(name).map(|h| h.input), other);
                (Some(name.to_string()), message)
            }
            (_, None) => (
                None,
                in_entry(
                    &hint.label,
                    index,
                    Localized::new("入力内容を確認してください", "check this entry"),
                ),
            ),
        };
        match sub {
            Some(sub) => entry_error(group, index, &sub, message),
            None => FieldError {
                pointer: format!("/{group}/{index}"),
                field: group.to_string(),
                message,
            },
        }
    }
}

/// Normalises each answer of each entry by its question's kind; errors name the entry.
pub(super) fn normalise_entries(
    group: &str,
    hint: &FieldHint,
    value: &Value,
) -> (Value, Vec<FieldError>) {
    let (Some(items), Value::Array(entries)) = (&hint.items, value) else {
        // Not a list: the schema reports it.
        return (value.clone(), Vec::new());
    };
    let mut errors = Vec::new();
    let mut normalised = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let Value::Object(answers) = entry else {
            normalised.push(entry.clone());
            continue;
        };
        let mut clean = Map::new();
        for (sub, value) in answers {
            let Some(sub_hint) = items.fields.get(sub) else {
                clean.insert(sub.clone(), value.clone());
                continue;
            };
            match normalise_value(sub_hint.input, value) {
                Ok(Some(value)) => {
                    clean.insert(sub.clone(), value);
                }
                Ok(None) => {}
                Err(problem) => {
                    let message =
                        labelled(&entry_label(&hint.label, index, &sub_hint.label), &problem);
                    errors.push(entry_error(group, index, sub, message));
                }
            }
        }
        normalised.push(Value::Object(clean));
    }
    (Value::Array(normalised), errors)
}

/// "お子さん（2件目）: …": a message about one entry of a group.
/// The name of question `question` in entry `index` of a group: 「お子さん（2件目）の生年月日」,
/// "Child (entry 2), date of birth".
fn entry_label(group: &Localized, index: usize, question: &Localized) -> Localized {
    let n = index + 1;
    Localized::new(
        format!("{}（{n}件目）の{}", group.ja, question.ja),
        format!(
            "{} (entry {n}), {}",
            group.get("en"),
            super::compiled::in_sentence(question.get("en"))
        ),
    )
}

fn in_entry(group: &Localized, index: usize, message: Localized) -> Localized {
    let n = index + 1;
    Localized::new(
        format!("{}（{n}件目）: {}", group.ja, message.ja),
        format!("{} (entry {n}): {}", group.get("en"), message.get("en")),
    )
}

fn entry_error(group: &str, index: usize, sub: &str, message: Localized) -> FieldError {
    FieldError {
        pointer: format!("/{group}/{index}/{sub}"),
        field: entry_input_name(group, index, sub),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedures::FormDefinition;
    use serde_json::json;

    fn form() -> FormDefinition {
        serde_json::from_value(json!({
            "version": 1,
            "schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "required": ["guardian", "children"],
                "properties": {
                    "guardian": {"type": "string", "minLength": 1},
                    "children": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["name", "kana", "birth_date"],
                            "properties": {
                                "name": {"type": "string", "minLength": 1},
                                "kana": {"type": "string", "pattern": "^[ァ-ヶー　 ]+$"},
                                "birth_date": {"type": "string", "format": "date"},
                                "count": {"type": "integer", "minimum": 0}
                            }
                        }
                    }
                },
                "examples": [{"guardian": "山田 花子", "children": [
                    {"name": "山田 陽向", "kana": "ヤマダ　ヒナタ", "birth_date": "2026-11-10"}]}]
            },
            "ui": {
                "order": ["guardian", "children"],
                "fields": {
                    "guardian": {"label": {"ja": "保護者", "en": "Guardian"}, "input": "text"},
                    "children": {"label": {"ja": "お子さん", "en": "Children"}, "input": "group",
                        "items": {
                            "order": ["name", "kana", "birth_date", "count"],
                            "fields": {
                                "name": {"label": {"ja": "氏名", "en": "Name"}, "input": "text"},
                                "kana": {"label": {"ja": "フリガナ", "en": "Kana"}, "input": "kana"},
                                "birth_date": {"label": {"ja": "生年月日", "en": "Date of birth"}, "input": "date"},
                                "count": {"label": {"ja": "回数", "en": "Count"}, "input": "number"}
                            }
                        }}
                }
            }
        }))
        .unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_form_with_a_group_passes_its_own_check() {
        assert_eq!(form().check(), Ok(()));
    }

    #[test]
    fn entry_names_split_back_into_group_index_and_question() {
        assert_eq!(entry_input_name("children", 1, "name"), "children[1].name");
        assert_eq!(
            split_entry_name("children[1].name"),
            Some(("children", 1, "name"))
        );
        assert_eq!(split_entry_name("children"), None);
        assert_eq!(split_entry_name("children[x].name"), None);
    }

    #[test]
    fn pairs_become_an_array_without_the_blank_entries() {
        let compiled = form().compile().unwrap();
        let built = compiled.answers_from_pairs(&pairs(&[
            ("guardian", "山田 花子"),
            ("children[0].name", "山田 陽向"),
            ("children[0].kana", "やまだ ひなた"),
            ("children[1].name", " "),
            ("children[1].kana", ""),
            ("children[2].name", "山田 蒼"),
            ("children[2].birth_date", "R8.1.2"),
            ("children[3].name", "beyond maxItems"),
        ]));
        assert_eq!(
            built["children"],
            json!([
                {"name": "山田 陽向", "kana": "やまだ ひなた"},
                {"name": "山田 蒼", "birth_date": "R8.1.2"}
            ])
        );
        let none = compiled.answers_from_pairs(&pairs(&[("children[0].name", "")]));
        assert!(!none.contains_key("children"), "no entry, no answer");
    }

    #[test]
    fn each_answer_in_an_entry_is_normalised_by_its_own_kind() {
        let compiled = form().compile().unwrap();
        let typed = compiled.answers_from_pairs(&pairs(&[
            ("guardian", "山田 花子"),
            ("children[0].name", " 山田　陽向 "),
            ("children[0].kana", "やまだ ﾋﾅﾀ"),
            ("children[0].birth_date", "令和８年１１月１０日"),
            ("children[0].count", "２"),
        ]));
        let clean = compiled.validate(&typed).unwrap();
        assert_eq!(
            clean["children"],
            json!([{"name": "山田 陽向", "kana": "ヤマダ\u{3000}ヒナタ",
                "birth_date": "2026-11-10", "count": 2}])
        );
    }

    #[test]
    fn a_bad_answer_in_the_second_entry_points_at_that_input_and_names_the_entry() {
        let compiled = form().compile().unwrap();
        let typed = compiled.answers_from_pairs(&pairs(&[
            ("guardian", "山田 花子"),
            ("children[0].name", "山田 陽向"),
            ("children[0].kana", "ヤマダ ヒナタ"),
            ("children[0].birth_date", "2026-11-10"),
            ("children[1].name", "山田 蒼"),
            ("children[1].kana", "山田"),
            ("children[1].birth_date", "令和8年13月1日"),
        ]));
        let errors = compiled.validate(&typed).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["children[1].kana", "children[1].birth_date"]);
        assert_eq!(errors[0].pointer, "/children/1/kana");
        assert_eq!(errors[1].pointer, "/children/1/birth_date");
        assert!(
            errors[0]
                .message
                .ja
                .starts_with("お子さん（2件目）のフリガナ：カタカナ"),
            "{:?}",
            errors[0]
        );
        assert!(
            errors[1].message.ja.contains("2件目") && errors[1].message.ja.contains("生年月日"),
            "{:?}",
            errors[1]
        );
        assert!(errors[1].message.en.contains("entry 2"));
    }

    #[test]
    fn a_missing_answer_and_a_missing_group_are_reported_where_they_belong() {
        let compiled = form().compile().unwrap();
        let answers = |v: Value| v.as_object().unwrap().clone();
        let errors = compiled
            .validate(&answers(
                json!({"guardian": "x", "children": [{"name": "山田 陽向"}]}),
            ))
            .unwrap_err();
        assert_eq!(errors[0].field, "children[0].kana");
        assert_eq!(
            errors[0].message.ja,
            "お子さん（1件目）のフリガナを入力してください"
        );
        let errors = compiled
            .validate(&answers(json!({"guardian": "x", "children": []})))
            .unwrap_err();
        assert_eq!(errors[0].field, "children");
        assert_eq!(errors[0].message.ja, "お子さんを入力してください");
        let four = json!({"name": "a", "kana": "ア", "birth_date": "2020-01-01"});
        let errors = compiled
            .validate(&answers(
                json!({"guardian": "x", "children": [four, four, four, four]}),
            ))
            .unwrap_err();
        assert_eq!(errors[0].field, "children");
        assert!(errors[0].message.ja.contains("3件まで"), "{:?}", errors[0]);
    }

    #[test]
    fn a_group_hint_that_does_not_match_its_items_schema_is_refused() {
        let mut broken = form();
        if let Some(items) = broken
            .ui
            .fields
            .get_mut("children")
            .and_then(|h| h.items.as_mut())
        {
            items.fields.remove("kana");
            items.order.retain(|n| n != "kana");
            items.order.push("nickname".into());
        }
        let problems = broken.check().unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("children.items.fields: no hint for 'kana'")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("'nickname'")),
            "{problems:?}"
        );
        let mut no_items = form();
        if let Some(hint) = no_items.ui.fields.get_mut("children") {
            hint.items = None;
        }
        assert!(no_items.check().is_err());
        let mut nested = form();
        if let Some(items) = nested
            .ui
            .fields
            .get_mut("children")
            .and_then(|h| h.items.as_mut())
        {
            if let Some(hint) = items.fields.get_mut("count") {
                hint.input = InputKind::MyNumber;
            }
        }
        assert!(nested
            .check()
            .unwrap_err()
            .iter()
            .any(|p| p.contains("My Number")));
    }

    #[test]
    fn the_page_offers_max_items_entries_or_five() {
        let compiled = form().compile().unwrap();
        assert_eq!(compiled.max_items("children"), 3);
        assert_eq!(compiled.min_items("children"), 1);
        let mut open = form();
        if let Some(group) = open.schema.pointer_mut("/properties/children") {
            group.as_object_mut().unwrap().remove("maxItems");
        }
        assert_eq!(
            open.compile().unwrap().max_items("children"),
            DEFAULT_MAX_ITEMS
        );
        assert!(compiled.is_required_in_entry("children", "kana"));
        assert!(!compiled.is_required_in_entry("children", "count"));
    }
}
