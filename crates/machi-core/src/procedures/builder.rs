//! フォームエディタの操作: what the procedure editor does to a form, in terms staff think in
//! (add a "date" question, make it required, ask it only when…), turned into the JSON Schema
//! and UI hints the form engine uses. The example answer set is rebuilt after every change,
//! so an edited form always passes its own check.

mod edit;
mod group;

pub use edit::{EditError, FieldEdit};

pub use group::{GROUP_FIELD_TYPES, MAX_GROUP_ENTRIES};

use serde_json::{json, Map, Value};

use super::form::{
    AttachmentKind, AttachmentSpec, Condition, FieldHint, FormDefinition, InputKind, UiHints,
};
use super::Localized;

/// Largest attachment the editor sets (the form engine allows up to 50 MB).
pub const EDITOR_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The question types staff can choose in the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Textarea,
    Kana,
    Date,
    /// 郵便番号と住所: two fields, `<name>_postcode` and `<name>`.
    Address,
    Postcode,
    Phone,
    Email,
    Number,
    Select,
    Radio,
    Checkbox,
    Checkboxes,
    /// 添付ファイル (PDF, JPEG or PNG).
    File,
    /// 個人番号: checked, never stored.
    MyNumber,
    /// 繰り返し項目: questions asked once per entry (e.g. each child); added to it afterwards.
    Group,
}

pub const FIELD_TYPES: [FieldType; 16] = [
    FieldType::Text,
    FieldType::Textarea,
    FieldType::Kana,
    FieldType::Date,
    FieldType::Address,
    FieldType::Postcode,
    FieldType::Phone,
    FieldType::Email,
    FieldType::Number,
    FieldType::Select,
    FieldType::Radio,
    FieldType::Checkbox,
    FieldType::Checkboxes,
    FieldType::File,
    FieldType::MyNumber,
    FieldType::Group,
];

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Kana => "kana",
            FieldType::Date => "date",
            FieldType::Address => "address",
            FieldType::Postcode => "postcode",
            FieldType::Phone => "phone",
            FieldType::Email => "email",
            FieldType::Number => "number",
            FieldType::Select => "select",
            FieldType::Radio => "radio",
            FieldType::Checkbox => "checkbox",
            FieldType::Checkboxes => "checkboxes",
            FieldType::File => "file",
            FieldType::MyNumber => "my_number",
            FieldType::Group => "group",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        FIELD_TYPES.into_iter().find(|t| t.as_str() == input)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            FieldType::Text => ("1行の文字", "Short text"),
            FieldType::Textarea => ("複数行の文字", "Long text"),
            FieldType::Kana => ("フリガナ", "Name in katakana"),
            FieldType::Date => ("日付（和暦・西暦）", "Date (Japanese era or Western)"),
            FieldType::Address => ("郵便番号と住所", "Postcode and address"),
            FieldType::Postcode => ("郵便番号", "Postcode"),
            FieldType::Phone => ("電話番号", "Phone number"),
            FieldType::Email => ("メールアドレス", "E-mail address"),
            FieldType::Number => ("数値", "Number"),
            FieldType::Select => ("選択（プルダウン）", "Choice (drop-down)"),
            FieldType::Radio => ("選択（ラジオボタン）", "Choice (radio buttons)"),
            FieldType::Checkbox => ("確認のチェック", "Single tick box"),
            FieldType::Checkboxes => (
                "複数選択（チェックボックス）",
                "Several choices (tick boxes)",
            ),
            FieldType::File => ("添付ファイル", "Attached file"),
            FieldType::MyNumber => (
                "個人番号（検査のみ・保存しません）",
                "My Number (checked, never stored)",
            ),
            FieldType::Group => ("繰り返し項目", "Repeatable group"),
        };
        Localized::new(ja, en)
    }

    fn has_options(self) -> bool {
        matches!(
            self,
            FieldType::Select | FieldType::Radio | FieldType::Checkboxes
        )
    }
}

/// A question as the editor adds it.
#[derive(Debug, Clone)]
pub struct NewField {
    /// ASCII name used in answers and exports (`a-z`, digits, `_`).
    pub name: String,
    pub label: Localized,
    pub help: Option<Localized>,
    pub field_type: FieldType,
    pub required: bool,
    /// Labels of the choices (values are made from their position: `o1`, `o2`, …).
    pub options: Vec<Localized>,
    pub show_if: Option<Condition>,
    /// Add the question inside this repeatable group instead of at the end of the form.
    pub group: Option<String>,
    /// For a group: how many entries a resident can give ([`super::DEFAULT_MAX_ITEMS`] if none).
    pub max_items: Option<u64>,
}

fn is_field_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl FormDefinition {
    /// A form with no questions yet.
    pub fn empty() -> Self {
        Self {
            version: 1,
            schema: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "required": [],
                "properties": {},
                "examples": [{}],
            }),
            ui: UiHints {
                order: Vec::new(),
                fields: Default::default(),
            },
            attachments: Vec::new(),
        }
    }

    /// Changes the schema's `properties` (made if missing).
    fn with_properties(&mut self, change: impl FnOnce(&mut Map<String, Value>)) {
        if let Some(schema) = self.schema.as_object_mut() {
            let properties = schema.entry("properties").or_insert_with(|| json!({}));
            if let Some(properties) = properties.as_object_mut() {
                change(properties);
            }
        }
    }

    fn has_name(&self, name: &str) -> bool {
        self.ui.fields.contains_key(name) || self.attachments.iter().any(|a| a.name == name)
    }

    /// Adds a question at the end; the message says what is wrong with it.
    pub fn add_field(&mut self, field: NewField) -> Result<(), EditError> {
        if !is_field_name(&field.name) {
            return Err(EditError::new(
                "name",
                format!(
                    "項目名「{}」は、半角英小文字で始まる40文字以内の英小文字・数字・_にしてください",
                    field.name
                ),
                format!(
                    "'{}': use 1-40 lowercase letters, digits and _ (starting with a letter)",
                    field.name
                ),
            ));
        }
        if field.label.ja.trim().is_empty() {
            return Err(EditError::new(
                "label_ja",
                "質問文を入力してください",
                "the Japanese label is required",
            ));
        }
        if field.field_type.has_options() && field.options.len() < 2 {
            return Err(EditError::new(
                "options",
                "選択肢を2つ以上、1行に1つずつ入力してください",
                "give at least two choices, one per line",
            ));
        }
        if let Some(group) = field.group.clone() {
            return self.add_to_group(&group, field);
        }
        if let Some(condition) = &field.show_if {
            self.check_condition(condition)?;
        }
        let mut names = vec![field.name.clone()];
        if field.field_type == FieldType::Address {
            names.push(format!("{}_postcode", field.name));
        }
        if let Some(taken) = names.iter().find(|n| self.has_name(n)) {
            return Err(EditError::new(
                "name",
                format!("「{taken}」という項目名はすでに使われています"),
                format!("there is already a question named '{taken}'"),
            ));
        }
        match field.field_type {
            FieldType::File => self.attachments.push(AttachmentSpec {
                name: field.name,
                label: field.label,
                help: field.help,
                required: field.required,
                accept: vec![
                    AttachmentKind::Pdf,
                    AttachmentKind::Jpeg,
                    AttachmentKind::Png,
                ],
                max_bytes: EDITOR_MAX_BYTES,
            }),
            FieldType::Address => {
                let postcode = NewField {
                    name: format!("{}_postcode", field.name),
                    label: Localized::new("郵便番号", "Postcode"),
                    help: None,
                    field_type: FieldType::Postcode,
                    ..field.clone()
                };
                self.insert_question(postcode, InputKind::Postcode, Some("postal-code"));
                self.insert_question(field, InputKind::Text, Some("street-address"));
            }
            FieldType::Group => self.insert_group(field)?,
            other => {
                let input = input_kind(other);
                self.insert_question(field, input, autocomplete(other));
            }
        }
        self.rebuild_example();
        Ok(())
    }

    fn check_condition(&self, condition: &Condition) -> Result<(), EditError> {
        let Some(hint) = self.ui.fields.get(&condition.field) else {
            return Err(EditError::new(
                "show_if",
                format!(
                    "条件にした質問「{}」が、この質問より前にありません",
                    condition.field
                ),
                format!(
                    "the condition refers to '{}', which is not a question before this one",
                    condition.field
                ),
            ));
        };
        let known = match hint.input {
            InputKind::Checkbox => ["true", "false"].contains(&condition.equals.as_str()),
            InputKind::Select | InputKind::Radio | InputKind::Checkboxes => {
                hint.options.contains_key(&condition.equals)
            }
            _ => false,
        };
        if known {
            Ok(())
        } else {
            Err(EditError::new(
                "show_if",
                format!("条件には「{}」の選択肢を選んでください", condition.field),
                format!("a condition must name a choice of '{}'", condition.field),
            ))
        }
    }

    fn insert_question(&mut self, field: NewField, input: InputKind, autocomplete: Option<&str>) {
        let options: Vec<(String, Localized)> = field
            .options
            .iter()
            .enumerate()
            .map(|(i, label)| (format!("o{}", i + 1), label.clone()))
            .collect();
        let property = property_for(field.field_type, field.required, &options);
        let name = field.name.clone();
        self.with_properties(|properties| {
            properties.insert(name, property);
        });
        match (&field.show_if, field.required) {
            (Some(condition), true) => self.require_when(&field.name, condition),
            (None, true) => self.require(&field.name),
            _ => {}
        }
        self.ui.order.push(field.name.clone());
        self.ui.fields.insert(
            field.name,
            FieldHint {
                label: field.label,
                help: field.help,
                input,
                autocomplete: autocomplete.map(str::to_string),
                options: options.into_iter().collect(),
                show_if: field.show_if,
                items: None,
            },
        );
    }

    fn require(&mut self, name: &str) {
        match self.schema["required"].as_array_mut() {
            Some(required) => required.push(json!(name)),
            None => self.schema["required"] = json!([name]),
        }
    }

    /// Required only when the condition holds: a JSON Schema `if`/`then` in `allOf`.
    fn require_when(&mut self, name: &str, condition: &Condition) {
        let expected = condition_schema(self.ui.fields.get(&condition.field), &condition.equals);
        let rule = json!({
            "if": {
                "properties": { condition.field.clone(): expected },
                "required": [condition.field],
            },
            "then": { "required": [name] },
        });
        match self.schema["allOf"].as_array_mut() {
            Some(rules) => rules.push(rule),
            None => self.schema["allOf"] = json!([rule]),
        }
    }

    /// Removes a question (refused while another question's condition depends on it); a
    /// question inside a group is named `group.question`.
    pub fn remove_field(&mut self, name: &str) -> Result<(), EditError> {
        if let Some((group, question)) = name.split_once('.') {
            return self.remove_from_group(group, question);
        }
        if let Some(position) = self.attachments.iter().position(|a| a.name == name) {
            self.attachments.remove(position);
            return Ok(());
        }
        if !self.ui.fields.contains_key(name) {
            return Err(EditError::no_question(name));
        }
        if let Some((dependent, _)) = self
            .ui
            .fields
            .iter()
            .find(|(_, hint)| hint.show_if.as_ref().is_some_and(|c| c.field == name))
        {
            return Err(EditError::new(
                "",
                format!("「{dependent}」は「{name}」の回答によって聞く質問です。先にそちらを削除するか変更してください"),
                format!("'{dependent}' is asked only depending on '{name}'; remove or change it first"),
            ));
        }
        self.with_properties(|properties| {
            properties.remove(name);
        });
        self.ui.fields.remove(name);
        self.ui.order.retain(|n| n != name);
        self.unrequire(name);
        self.rebuild_example();
        Ok(())
    }

    /// Makes a question optional: out of `required`, and out of the conditional rules.
    fn unrequire(&mut self, name: &str) {
        if let Some(required) = self.schema["required"].as_array_mut() {
            required.retain(|v| v.as_str() != Some(name));
        }
        if let Some(schema) = self.schema.as_object_mut() {
            if let Some(rules) = schema.get_mut("allOf").and_then(Value::as_array_mut) {
                rules.retain(|rule| {
                    rule.pointer("/then/required/0").and_then(Value::as_str) != Some(name)
                });
                // JSON Schema wants at least one rule in allOf.
                if rules.is_empty() {
                    schema.remove("allOf");
                }
            }
        }
    }

    /// Moves a question one place up or down (a condition's source stays above it); a
    /// question inside a group (`group.question`) moves within the group.
    pub fn move_field(&mut self, name: &str, up: bool) -> Result<(), EditError> {
        if let Some((group, question)) = name.split_once('.') {
            return self.move_in_group(group, question, up);
        }
        if let Some(index) = self.attachments.iter().position(|a| a.name == name) {
            let target = if up {
                index.checked_sub(1)
            } else {
                Some(index + 1)
            };
            if let Some(target) = target.filter(|t| *t < self.attachments.len()) {
                self.attachments.swap(index, target);
            }
            return Ok(());
        }
        let index = self
            .ui
            .order
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| EditError::no_question(name))?;
        let target = if up {
            index.checked_sub(1)
        } else {
            Some(index + 1)
        };
        let Some(target) = target.filter(|t| *t < self.ui.order.len()) else {
            return Ok(());
        };
        let (first, second) = (index.min(target), index.max(target));
        let depends = self
            .ui
            .fields
            .get(&self.ui.order[second])
            .and_then(|h| h.show_if.as_ref());
        if depends.is_some_and(|c| c.field == self.ui.order[first]) {
            return Err(EditError::new(
                "",
                "質問は、条件にしている質問より上には移動できません",
                "a question cannot move above the question it depends on",
            ));
        }
        self.ui.order.swap(index, target);
        Ok(())
    }

    /// One complete valid answer set, made from each question's type.
    fn rebuild_example(&mut self) {
        let mut example = Map::new();
        for name in &self.ui.order {
            let Some(hint) = self.ui.fields.get(name) else {
                continue;
            };
            let property = &self.schema["properties"][name];
            example.insert(name.clone(), example_value(hint, property));
        }
        self.schema["examples"] = json!([example]);
    }
}

fn input_kind(field_type: FieldType) -> InputKind {
    match field_type {
        FieldType::Group => InputKind::Group,
        FieldType::Text | FieldType::Address | FieldType::File => InputKind::Text,
        FieldType::Textarea => InputKind::Textarea,
        FieldType::Kana => InputKind::Kana,
        FieldType::Date => InputKind::Date,
        FieldType::Postcode => InputKind::Postcode,
        FieldType::Phone => InputKind::Phone,
        FieldType::Email => InputKind::Email,
        FieldType::Number => InputKind::Number,
        FieldType::Select => InputKind::Select,
        FieldType::Radio => InputKind::Radio,
        FieldType::Checkbox => InputKind::Checkbox,
        FieldType::Checkboxes => InputKind::Checkboxes,
        FieldType::MyNumber => InputKind::MyNumber,
    }
}

fn autocomplete(field_type: FieldType) -> Option<&'static str> {
    match field_type {
        FieldType::Phone => Some("tel"),
        FieldType::Email => Some("email"),
        FieldType::Postcode => Some("postal-code"),
        _ => None,
    }
}

fn property_for(field_type: FieldType, required: bool, options: &[(String, Localized)]) -> Value {
    let values: Vec<&str> = options.iter().map(|(v, _)| v.as_str()).collect();
    match field_type {
        FieldType::Text | FieldType::Address | FieldType::File => {
            json!({"type": "string", "minLength": 1, "maxLength": 200})
        }
        FieldType::Textarea => json!({"type": "string", "minLength": 1, "maxLength": 2000}),
        FieldType::Kana => {
            json!({"type": "string", "pattern": "^[ァ-ヶー　 ]+$", "maxLength": 100})
        }
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::Postcode => json!({"type": "string", "pattern": "^[0-9]{3}-[0-9]{4}$"}),
        FieldType::Phone => {
            json!({"type": "string", "pattern": "^0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}$"})
        }
        FieldType::Email => json!({"type": "string", "format": "email", "maxLength": 254}),
        FieldType::Number => json!({"type": "integer", "minimum": 0}),
        FieldType::Select | FieldType::Radio => json!({"type": "string", "enum": values}),
        FieldType::Checkbox if required => json!({"type": "boolean", "const": true}),
        FieldType::Checkbox => json!({"type": "boolean"}),
        FieldType::MyNumber => json!({"type": "string", "pattern": "^([0-9]{12}|checked)$"}),
        FieldType::Group => group::group_property(required, group::DEFAULT_EDITOR_MAX),
        FieldType::Checkboxes => json!({
            "type": "array",
            "items": {"enum": values},
            "uniqueItems": true,
            "minItems": if required { 1 } else { 0 },
        }),
    }
}

/// The schema a condition's source must match.
fn condition_schema(source: Option<&FieldHint>, equals: &str) -> Value {
    match source.map(|h| h.input) {
        Some(InputKind::Checkbox) => json!({"const": equals == "true"}),
        Some(InputKind::Checkboxes) => json!({"contains": {"const": equals}}),
        _ => json!({"const": equals}),
    }
}

fn example_value(hint: &FieldHint, property: &Value) -> Value {
    let first_choice = || {
        property
            .get("enum")
            .or_else(|| property.pointer("/items/enum"))
            .and_then(Value::as_array)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or(Value::Null)
    };
    match hint.input {
        InputKind::Text => json!("例"),
        InputKind::Textarea => json!("例文です。"),
        InputKind::Kana => json!("デモ　タロウ"),
        InputKind::Date => json!("2026-04-01"),
        InputKind::Postcode => json!("590-0901"),
        InputKind::Phone => json!("06-1234-5678"),
        InputKind::Email => json!("taro.demo@example.jp"),
        InputKind::Number => json!(1),
        InputKind::Select | InputKind::Radio => first_choice(),
        InputKind::Checkbox => json!(true),
        InputKind::Checkboxes => json!([first_choice()]),
        InputKind::MyNumber => json!(crate::mynumber::STORED_MARKER),
        InputKind::Group => group::example_entries(hint, property),
    }
}

#[cfg(test)]
mod tests;
