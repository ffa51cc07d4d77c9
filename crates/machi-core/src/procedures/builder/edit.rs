//! Changing a question a form already has: its wording, its choices and whether it must be
//! answered. Its name and type stay, so the answers already given keep their meaning; a choice
//! another question depends on cannot be taken away.

use serde_json::json;

use crate::procedures::form::{FormDefinition, InputKind};
use crate::procedures::Localized;

/// What is wrong with a change to a form, in both languages, and the editor's input it
/// concerns (so the editor's error summary can lead there).
#[derive(Debug, Clone, PartialEq)]
pub struct EditError {
    /// `name`, `label_ja`, `options`, `show_if`, `group`, `field_type`, `max_items`, or empty
    /// for the form as a whole.
    pub input: &'static str,
    pub message: Localized,
}

impl EditError {
    pub fn new(input: &'static str, ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            input,
            message: Localized::new(ja, en),
        }
    }

    pub(super) fn no_question(name: &str) -> Self {
        Self::new(
            "",
            format!("「{name}」という質問はありません"),
            format!("there is no question named '{name}'"),
        )
    }
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message.en)
    }
}

/// The new wording of a question.
#[derive(Debug, Clone)]
pub struct FieldEdit {
    pub label: Localized,
    pub help: Option<Localized>,
    pub required: bool,
    /// For a choice question, the choices' labels in order (their values stay `o1`, `o2`, …
    /// by position); ignored for other questions.
    pub options: Vec<Localized>,
}

impl FormDefinition {
    /// Rewords a question (or an attached file's question); the message says what is wrong.
    pub fn edit_field(&mut self, name: &str, edit: FieldEdit) -> Result<(), EditError> {
        if edit.label.ja.trim().is_empty() {
            return Err(EditError::new(
                "label_ja",
                "質問文を入力してください",
                "the Japanese label is required",
            ));
        }
        if let Some(spec) = self.attachments.iter_mut().find(|a| a.name == name) {
            spec.label = edit.label;
            spec.help = edit.help;
            spec.required = edit.required;
            return Ok(());
        }
        let hint = self
            .ui
            .fields
            .get(name)
            .ok_or_else(|| EditError::no_question(name))?;
        let (input, condition) = (hint.input, hint.show_if.clone());
        let values: Vec<String> = (1..=edit.options.len()).map(|i| format!("o{i}")).collect();
        let choices = matches!(
            input,
            InputKind::Select | InputKind::Radio | InputKind::Checkboxes
        );
        if choices {
            self.check_choices(name, &values)?;
        }
        if let Some(hint) = self.ui.fields.get_mut(name) {
            hint.label = edit.label;
            hint.help = edit.help;
            if choices {
                hint.options = values.iter().cloned().zip(edit.options).collect();
            }
        }
        if let Some(property) = self.schema.pointer_mut(&format!("/properties/{name}")) {
            match input {
                InputKind::Select | InputKind::Radio => property["enum"] = json!(values),
                InputKind::Checkboxes => {
                    property["items"]["enum"] = json!(values);
                    property["minItems"] = json!(u8::from(edit.required));
                }
                InputKind::Checkbox if edit.required => property["const"] = json!(true),
                InputKind::Checkbox => {
                    if let Some(object) = property.as_object_mut() {
                        object.remove("const");
                    }
                }
                _ => {}
            }
        }
        self.unrequire(name);
        if edit.required {
            match &condition {
                Some(condition) => self.require_when(name, condition),
                None => self.require(name),
            }
        }
        self.rebuild_example();
        Ok(())
    }

    /// At least two choices, and none taken away that another question's condition names.
    fn check_choices(&self, name: &str, values: &[String]) -> Result<(), EditError> {
        if values.len() < 2 {
            return Err(EditError::new(
                "options",
                "選択肢を2つ以上、1行に1つずつ入力してください",
                "give at least two choices, one per line",
            ));
        }
        let dependent = self.ui.fields.iter().find(|(_, hint)| {
            hint.show_if
                .as_ref()
                .is_some_and(|c| c.field == name && !values.contains(&c.equals))
        });
        match dependent {
            Some((dependent, _)) => Err(EditError::new(
                "options",
                format!("「{dependent}」は、なくなる選択肢を条件にしています。先にそちらを変更してください"),
                format!("'{dependent}' depends on a choice that would go; change it first"),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedures::builder::{FieldType, NewField};
    use crate::procedures::Condition;

    fn question(name: &str, field_type: FieldType, options: &[&str]) -> NewField {
        NewField {
            name: name.into(),
            label: Localized::new("質問", ""),
            help: None,
            field_type,
            required: true,
            options: options.iter().map(|o| Localized::new(*o, "")).collect(),
            show_if: None,
            group: None,
            max_items: None,
        }
    }

    fn edit(label: &str, required: bool, options: &[&str]) -> FieldEdit {
        FieldEdit {
            label: Localized::new(label, ""),
            help: None,
            required,
            options: options.iter().map(|o| Localized::new(*o, "")).collect(),
        }
    }

    #[test]
    fn a_question_is_reworded_and_made_optional_where_it_stands() {
        let mut form = FormDefinition::empty();
        form.add_field(question("kind", FieldType::Radio, &["犬", "猫"]))
            .unwrap();
        form.add_field(question("name", FieldType::Text, &[]))
            .unwrap();
        form.edit_field(
            "kind",
            edit("動物の種類（フリガナ）", false, &["犬", "猫", "鳥"]),
        )
        .unwrap();
        assert_eq!(form.ui.order, ["kind", "name"], "it stays where it was");
        assert_eq!(form.ui.fields["kind"].label.ja, "動物の種類（フリガナ）");
        assert_eq!(form.ui.fields["kind"].options.len(), 3);
        assert_eq!(form.check(), Ok(()));
        let compiled = form.compile().unwrap();
        let answers = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert!(
            compiled.validate(&answers(json!({"name": "ポチ"}))).is_ok(),
            "optional now"
        );
        assert!(compiled
            .validate(&answers(json!({"name": "ポチ", "kind": "o3"})))
            .is_ok());
    }

    #[test]
    fn a_choice_another_question_depends_on_stays() {
        let mut form = FormDefinition::empty();
        form.add_field(question("kind", FieldType::Radio, &["犬", "猫", "鳥"]))
            .unwrap();
        let mut cage = question("cage", FieldType::Text, &[]);
        cage.show_if = Some(Condition {
            field: "kind".into(),
            equals: "o3".into(),
        });
        form.add_field(cage).unwrap();
        let refused = form
            .edit_field("kind", edit("種類", true, &["犬", "猫"]))
            .unwrap_err();
        assert_eq!(refused.input, "options");
        assert!(refused.message.ja.contains("cage"));
        let refused = form.edit_field("kind", edit(" ", true, &["犬", "猫", "鳥"]));
        assert_eq!(refused.unwrap_err().input, "label_ja");
        assert_eq!(
            form.edit_field("nothing", edit("x", true, &[]))
                .unwrap_err()
                .input,
            ""
        );
    }
}
