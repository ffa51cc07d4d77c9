//! 繰り返し項目 in the editor: a group is added like any question (label, required, how many
//! entries), then questions are added inside it one by one. Inside, only plain questions are
//! allowed (text, kana, date, phone, e-mail, number, one choice, a tick box), without
//! conditions; the editor lists them as `group.question` with their own move and remove.

use serde_json::{json, Map, Value};

use super::{autocomplete, input_kind, property_for, EditError, FieldType, NewField};
use crate::procedures::form::{FieldHint, FormDefinition, InputKind, UiHints};
use crate::procedures::Localized;

/// Entries the editor offers when staff do not say.
pub(super) const DEFAULT_EDITOR_MAX: u64 = crate::procedures::group::DEFAULT_MAX_ITEMS as u64;
/// Most entries the editor allows (each is drawn on the page).
pub const MAX_GROUP_ENTRIES: u64 = 20;

/// The question types that can be asked inside a group.
pub const GROUP_FIELD_TYPES: [FieldType; 9] = [
    FieldType::Text,
    FieldType::Kana,
    FieldType::Date,
    FieldType::Phone,
    FieldType::Email,
    FieldType::Number,
    FieldType::Select,
    FieldType::Radio,
    FieldType::Checkbox,
];

/// A group's schema: a list of entries, each an object of the questions added to it later.
pub(super) fn group_property(required: bool, max_items: u64) -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": [],
            "properties": {},
        },
        "minItems": if required { 1 } else { 0 },
        "maxItems": max_items,
    })
}

/// Example entries: as many as the group must have (at least one), each answering everything.
pub(super) fn example_entries(hint: &FieldHint, property: &Value) -> Value {
    let Some(items) = &hint.items else {
        return json!([]);
    };
    let entry: Map<String, Value> = items
        .order
        .iter()
        .filter_map(|name| items.fields.get(name).map(|h| (name, h)))
        .map(|(name, sub)| {
            let sub_property = &property["items"]["properties"][name];
            (name.clone(), super::example_value(sub, sub_property))
        })
        .collect();
    let count = property
        .get("minItems")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .max(1);
    Value::Array((0..count).map(|_| Value::Object(entry.clone())).collect())
}

impl FormDefinition {
    /// Adds a group with no questions yet; its size comes from `field.max_items`.
    pub(super) fn insert_group(&mut self, field: NewField) -> Result<(), EditError> {
        let max_items = field.max_items.unwrap_or(DEFAULT_EDITOR_MAX);
        if !(1..=MAX_GROUP_ENTRIES).contains(&max_items) {
            return Err(EditError::new(
                "max_items",
                format!("繰り返し項目の件数は1〜{MAX_GROUP_ENTRIES}件にしてください（{max_items}件は指定できません）"),
                format!("a group holds 1 to {MAX_GROUP_ENTRIES} entries, not {max_items}"),
            ));
        }
        let name = field.name.clone();
        self.insert_question(field, InputKind::Group, None);
        self.schema["properties"][&name]["maxItems"] = json!(max_items);
        if let Some(hint) = self.ui.fields.get_mut(&name) {
            hint.items = Some(UiHints {
                order: Vec::new(),
                fields: Default::default(),
            });
        }
        Ok(())
    }

    fn group_hints(&mut self, group: &str) -> Result<&mut UiHints, EditError> {
        self.ui
            .fields
            .get_mut(group)
            .filter(|h| h.input == InputKind::Group)
            .and_then(|h| h.items.as_mut())
            .ok_or_else(|| {
                EditError::new(
                    "group",
                    format!("「{group}」という繰り返し項目はありません"),
                    format!("there is no repeatable group named '{group}'"),
                )
            })
    }

    /// The schema of one entry of `group` (made if missing).
    fn entry_schema(&mut self, group: &str) -> Option<&mut Map<String, Value>> {
        self.schema
            .pointer_mut(&format!("/properties/{group}/items"))
            .and_then(Value::as_object_mut)
    }

    /// Adds a question at the end of each entry of `group`.
    pub(super) fn add_to_group(&mut self, group: &str, field: NewField) -> Result<(), EditError> {
        if !GROUP_FIELD_TYPES.contains(&field.field_type) {
            return Err(EditError::new(
                "field_type",
                format!(
                    "「{}」の質問は繰り返し項目の中に入れられません",
                    field.field_type.label().ja
                ),
                format!(
                    "a {} question cannot be asked inside a group",
                    field.field_type.label().en
                ),
            ));
        }
        if field.show_if.is_some() {
            return Err(EditError::new(
                "show_if",
                "繰り返し項目の中の質問には条件を付けられません",
                "questions inside a group cannot have a condition",
            ));
        }
        if self.group_hints(group)?.fields.contains_key(&field.name) {
            return Err(EditError::new(
                "name",
                format!(
                    "繰り返し項目「{group}」には「{}」という質問がすでにあります",
                    field.name
                ),
                format!(
                    "the group '{group}' already has a question named '{}'",
                    field.name
                ),
            ));
        }
        let options: Vec<(String, Localized)> = field
            .options
            .iter()
            .enumerate()
            .map(|(i, label)| (format!("o{}", i + 1), label.clone()))
            .collect();
        let property = property_for(field.field_type, field.required, &options);
        let entry = self.entry_schema(group).ok_or_else(|| {
            EditError::new(
                "group",
                format!("「{group}」の定義が繰り返し項目の形ではありません"),
                format!("the schema of '{group}' is not a list of entries"),
            )
        })?;
        let properties = entry.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(field.name.clone(), property);
        }
        if field.required {
            match entry.get_mut("required").and_then(Value::as_array_mut) {
                Some(required) => required.push(json!(field.name)),
                None => {
                    entry.insert("required".into(), json!([field.name]));
                }
            }
        }
        let input = input_kind(field.field_type);
        let hints = self.group_hints(group)?;
        hints.order.push(field.name.clone());
        hints.fields.insert(
            field.name,
            FieldHint {
                label: field.label,
                help: field.help,
                input,
                autocomplete: autocomplete(field.field_type).map(str::to_string),
                options: options.into_iter().collect(),
                show_if: None,
                items: None,
            },
        );
        self.rebuild_example();
        Ok(())
    }

    pub(super) fn remove_from_group(
        &mut self,
        group: &str,
        question: &str,
    ) -> Result<(), EditError> {
        let hints = self.group_hints(group)?;
        if hints.fields.remove(question).is_none() {
            return Err(EditError::no_question(&format!("{group}.{question}")));
        }
        hints.order.retain(|n| n != question);
        if let Some(entry) = self.entry_schema(group) {
            if let Some(properties) = entry.get_mut("properties").and_then(Value::as_object_mut) {
                properties.remove(question);
            }
            if let Some(required) = entry.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|v| v.as_str() != Some(question));
            }
        }
        self.rebuild_example();
        Ok(())
    }

    pub(super) fn move_in_group(
        &mut self,
        group: &str,
        question: &str,
        up: bool,
    ) -> Result<(), EditError> {
        let order = &mut self.group_hints(group)?.order;
        let index = order
            .iter()
            .position(|n| n == question)
            .ok_or_else(|| EditError::no_question(&format!("{group}.{question}")))?;
        let target = if up {
            index.checked_sub(1)
        } else {
            Some(index + 1)
        };
        if let Some(target) = target.filter(|t| *t < order.len()) {
            order.swap(index, target);
        }
        self.rebuild_example();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(name: &str, field_type: FieldType, group: Option<&str>) -> NewField {
        NewField {
            name: name.into(),
            label: Localized::new(format!("{name}のラベル"), ""),
            help: None,
            field_type,
            required: true,
            options: if field_type == FieldType::Radio {
                vec![Localized::new("男", "Boy"), Localized::new("女", "Girl")]
            } else {
                Vec::new()
            },
            show_if: None,
            group: group.map(str::to_string),
            max_items: None,
        }
    }

    #[test]
    fn a_group_built_in_the_editor_passes_its_own_check_and_validates_entries() {
        let mut form = FormDefinition::empty();
        form.add_field(question("guardian", FieldType::Text, None))
            .unwrap();
        form.add_field(NewField {
            max_items: Some(4),
            ..question("children", FieldType::Group, None)
        })
        .unwrap();
        for (name, field_type) in [
            ("name", FieldType::Text),
            ("kana", FieldType::Kana),
            ("birth_date", FieldType::Date),
            ("sex", FieldType::Radio),
        ] {
            form.add_field(question(name, field_type, Some("children")))
                .unwrap();
        }
        assert_eq!(form.check(), Ok(()));
        assert_eq!(form.schema["properties"]["children"]["minItems"], 1);
        assert_eq!(form.schema["properties"]["children"]["maxItems"], 4);
        let compiled = form.compile().unwrap();
        assert_eq!(compiled.max_items("children"), 4);
        let pairs: Vec<(String, String)> = [
            ("guardian", "山田 花子"),
            ("children[0].name", "山田 陽向"),
            ("children[0].kana", "やまだ ひなた"),
            ("children[0].birth_date", "令和8年11月10日"),
            ("children[0].sex", "o2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let clean = compiled
            .validate(&compiled.answers_from_pairs(&pairs))
            .unwrap();
        assert_eq!(clean["children"][0]["birth_date"], "2026-11-10");

        form.move_field("children.sex", true).unwrap();
        let order = &form.ui.fields["children"].items.as_ref().unwrap().order;
        assert_eq!(order, &["name", "kana", "sex", "birth_date"]);
        form.remove_field("children.sex").unwrap();
        assert!(form.schema["properties"]["children"]["items"]["properties"]
            .get("sex")
            .is_none());
        assert_eq!(form.check(), Ok(()));
        let round_trip: FormDefinition =
            serde_json::from_value(serde_json::to_value(&form).unwrap()).unwrap();
        assert_eq!(round_trip, form);
        assert_eq!(round_trip.check(), Ok(()));
    }

    #[test]
    fn only_plain_questions_go_inside_a_group() {
        let mut form = FormDefinition::empty();
        form.add_field(question("children", FieldType::Group, None))
            .unwrap();
        for field_type in [
            FieldType::Group,
            FieldType::File,
            FieldType::MyNumber,
            FieldType::Address,
            FieldType::Checkboxes,
        ] {
            assert!(form
                .add_field(question("x", field_type, Some("children")))
                .is_err());
        }
        assert!(form
            .add_field(question("x", FieldType::Text, Some("nowhere")))
            .is_err());
        form.add_field(question("x", FieldType::Text, Some("children")))
            .unwrap();
        assert!(
            form.add_field(question("x", FieldType::Date, Some("children")))
                .is_err(),
            "names are unique within a group"
        );
        assert!(form
            .add_field(NewField {
                max_items: Some(0),
                ..question("empty", FieldType::Group, None)
            })
            .is_err());
        form.remove_field("children").unwrap();
        assert!(form.ui.order.is_empty());
    }
}
