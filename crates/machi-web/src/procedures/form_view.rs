//! What the form and confirm pages show for each field: the view models the templates draw,
//! the values to fill in again, and answers written out for people.

use std::collections::HashMap;

use machi_core::procedures::{
    entry_input_name, split_entry_name, AttachmentSpec, CompiledForm, FieldHint, InputKind,
};
use serde_json::{Map, Value};

use crate::kit::Ui;
use machi_core::procedures::display::value_text;

/// One choice of a select, radio or checkbox group.
pub(crate) struct OptionView {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) checked: bool,
}

/// Everything the template needs to draw one field.
pub(crate) struct FieldView {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) help: Option<String>,
    pub(crate) kind: &'static str,
    pub(crate) html_type: &'static str,
    pub(crate) inputmode: &'static str,
    pub(crate) autocomplete: String,
    pub(crate) required: bool,
    pub(crate) value: String,
    pub(crate) options: Vec<OptionView>,
    pub(crate) error: Option<String>,
    pub(crate) describedby: String,
    /// A repeatable group's numbered entries (empty for other fields).
    pub(crate) entries: Vec<EntryView>,
    /// For a postcode: the id and name of the address input its lookup fills (empty if none;
    /// see [`super::postcode`]), and what the last lookup found.
    pub(crate) address_for: String,
    pub(crate) address_name: String,
    pub(crate) lookup_note: Option<String>,
}

/// One numbered entry of a repeatable group: its legend and its questions.
pub(crate) struct EntryView {
    pub(crate) legend: String,
    pub(crate) fields: Vec<FieldView>,
}

pub(super) struct AttachmentView {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) help: Option<String>,
    pub(crate) required: bool,
    pub(crate) accept: String,
    pub(crate) limits: String,
    pub(crate) error: Option<String>,
    /// The file already attached for this question: (its sealed hidden field, what the page
    /// says of it: name and size).
    pub(crate) kept: Option<(String, String)>,
}

/// One answer on a check-answers page; `change` is the element its 変更 button leads to on the
/// form (none for an answer the resident did not give).
pub(crate) struct AnswerRowView {
    pub(crate) label: String,
    pub(crate) value: String,
    pub(crate) change: Option<String>,
}

/// Field values to show again: raw strings as typed, or canonical JSON when editing; and what
/// an address lookup found, shown beside its postcode.
#[derive(Default)]
pub(crate) struct Values {
    values: HashMap<String, Vec<String>>,
    /// (the postcode input's name, what was found).
    found: Option<(String, String)>,
}

impl Values {
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.clone()).or_default().push(v.clone());
        }
        Self {
            values: map,
            found: None,
        }
    }

    /// These values with the note of an address lookup for the postcode input `name`.
    pub(crate) fn with_lookup(self, name: String, note: String) -> Self {
        Self {
            found: Some((name, note)),
            ..self
        }
    }

    fn lookup_note(&self, name: &str) -> Option<String> {
        self.found
            .as_ref()
            .filter(|(field, _)| field == name)
            .map(|(_, note)| note.clone())
    }

    /// Values from answers (typed or canonical); a group's entries fill `children[0].name`, ….
    pub(crate) fn from_answers(answers: &Map<String, Value>) -> Self {
        let mut map = HashMap::new();
        for (k, v) in answers {
            match v {
                Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                    for (index, entry) in items.iter().enumerate() {
                        for (sub, value) in entry.as_object().into_iter().flatten() {
                            map.insert(entry_input_name(k, index, sub), vec![value_text(value)]);
                        }
                    }
                }
                Value::Array(items) => {
                    map.insert(k.clone(), items.iter().map(value_text).collect());
                }
                other => {
                    map.insert(k.clone(), vec![value_text(other)]);
                }
            }
        }
        Self {
            values: map,
            found: None,
        }
    }

    fn first(&self, name: &str) -> String {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .cloned()
            .unwrap_or_default()
    }

    fn contains(&self, name: &str, value: &str) -> bool {
        self.values
            .get(name)
            .is_some_and(|v| v.iter().any(|x| x == value))
    }
}

/// The element id of an input from its HTML name: `f-name`, or `f-children-1-birth_date` for
/// a question in an entry of a group.
pub(crate) fn input_id(name: &str) -> String {
    match split_entry_name(name) {
        Some((group, index, sub)) => format!("f-{group}-{index}-{sub}"),
        None => format!("f-{name}"),
    }
}

/// The element an error summary links to: the input itself, the first choice of a set of
/// radio buttons or tick boxes, or (for a group as a whole) the first input of its first entry.
pub(crate) fn field_target(form: &CompiledForm, field: &str) -> String {
    let first_choice =
        |hint: &FieldHint| matches!(hint.input, InputKind::Radio | InputKind::Checkboxes);
    if let Some((group, _, sub)) = split_entry_name(field) {
        let radio = form
            .group_fields(group)
            .iter()
            .any(|(name, hint)| *name == sub && first_choice(hint));
        let id = input_id(field);
        return if radio { format!("{id}-1") } else { id };
    }
    if let Some((sub, _)) = form.group_fields(field).first() {
        return field_target(form, &entry_input_name(field, 0, sub));
    }
    let grouped = form
        .definition()
        .ui
        .fields
        .get(field)
        .is_some_and(first_choice);
    if form
        .definition()
        .attachments
        .iter()
        .any(|a| a.name == field)
    {
        format!("att-{field}")
    } else if grouped {
        format!("f-{field}-1")
    } else {
        format!("f-{field}")
    }
}

fn limits_text(ui: Ui, spec: &AttachmentSpec) -> String {
    let kinds: Vec<&str> = spec.accept.iter().map(|k| k.label()).collect();
    let mb = spec.max_bytes as f64 / 1_048_576.0;
    if ui.en {
        format!("{} up to {mb:.0} MB.", kinds.join(", "))
    } else {
        format!("{}、{mb:.0}MBまで。", kinds.join("・"))
    }
}

/// The view of one attachment question, drawn under `name` (the spec's own name, or a prefixed
/// one in a combined form), with its error and the file already attached for it.
pub(super) fn attachment_view(
    ui: Ui,
    spec: &AttachmentSpec,
    name: String,
    error: Option<String>,
    kept: Option<(String, String)>,
) -> AttachmentView {
    AttachmentView {
        name,
        label: ui.l(&spec.label).to_string(),
        help: spec.help.as_ref().map(|h| ui.l(h).to_string()),
        required: spec.required,
        accept: spec
            .accept
            .iter()
            .map(|k| k.media_type())
            .collect::<Vec<_>>()
            .join(","),
        limits: limits_text(ui, spec),
        error,
        kept,
    }
}

/// The view of one question of the form; `errors` gives the message for an input's HTML name
/// (a group asks it for each input of its entries too).
pub(crate) fn field_view(
    ui: Ui,
    form: &CompiledForm,
    name: &str,
    hint: &FieldHint,
    values: &Values,
    errors: &dyn Fn(&str) -> Option<String>,
) -> FieldView {
    let mut view = input_view(
        ui,
        form,
        name,
        hint,
        values,
        errors(name),
        form.is_required(name),
        form.choices(name),
    );
    if hint.input != InputKind::Group {
        return view;
    }
    let min = form.min_items(name);
    view.entries = (0..form.max_items(name))
        .map(|index| EntryView {
            legend: if ui.en {
                format!("Entry {}", index + 1)
            } else {
                format!("{}件目", index + 1)
            },
            fields: form
                .group_fields(name)
                .into_iter()
                .map(|(sub, sub_hint)| {
                    let html = entry_input_name(name, index, sub);
                    let required = index < min && form.is_required_in_entry(name, sub);
                    let choices = form.entry_choices(name, sub);
                    let error = errors(&html);
                    input_view(ui, form, &html, sub_hint, values, error, required, choices)
                })
                .collect(),
        })
        .collect();
    view
}

/// The view of one input (a question, or a question in an entry of a group) by its HTML name.
#[allow(clippy::too_many_arguments)] // Each is one plain fact about the input.
fn input_view(
    ui: Ui,
    form: &CompiledForm,
    name: &str,
    hint: &FieldHint,
    values: &Values,
    error: Option<String>,
    required: bool,
    choices: Vec<&str>,
) -> FieldView {
    let group_help = if hint.input != InputKind::Group {
        String::new()
    } else if ui.en {
        let max = form.max_items(name);
        format!("Up to {max} entries. Leave the entries you do not need blank.")
    } else {
        let max = form.max_items(name);
        format!("{max}件まで入力できます。使わない欄は空欄のままにしてください。")
    };
    let (kind, html_type, inputmode, default_help) = match hint.input {
        InputKind::Text => ("text", "text", "", None),
        InputKind::Textarea => ("textarea", "text", "", None),
        InputKind::Kana => (
            "text",
            "text",
            "",
            Some(ui.t(
                "カタカナまたはひらがなで入力してください。",
                "In katakana or hiragana.",
            )),
        ),
        InputKind::Date => (
            "text",
            "text",
            "",
            Some(ui.t(
                "例: 令和6年4月1日、R6.4.1、2024-04-01",
                "For example 2024-04-01 or R6.4.1",
            )),
        ),
        InputKind::Postcode => (
            "postcode",
            "text",
            "numeric",
            Some(ui.t(
                "例: 567-0001（ハイフンはなくても構いません）",
                "For example 567-0001",
            )),
        ),
        InputKind::Phone => (
            "text",
            "tel",
            "tel",
            Some(ui.t("例: 06-1234-5678", "For example 06-1234-5678")),
        ),
        InputKind::Email => ("text", "email", "email", None),
        InputKind::Number => ("text", "text", "numeric", None),
        InputKind::Select => ("select", "text", "", None),
        InputKind::Radio => ("radio", "radio", "", None),
        InputKind::Checkbox => ("checkbox", "checkbox", "", None),
        InputKind::Checkboxes => ("checkboxes", "checkbox", "", None),
        InputKind::MyNumber => (
            "text",
            "text",
            "numeric",
            Some(ui.t(
                "12桁の数字。番号の確認だけに使い、市のシステムには保存しません。",
                "12 digits. Used only to check it; the city's system does not keep it.",
            )),
        ),
        InputKind::Group => ("group", "", "", Some(group_help.as_str())),
    };
    let id = input_id(name);
    let help = hint
        .help
        .as_ref()
        .map(|h| ui.l(h).to_string())
        .or(default_help.map(str::to_string));
    let help = match (condition_text(ui, form, hint), help) {
        (Some(condition), Some(help)) => Some(format!("{condition} {help}")),
        (condition, help) => condition.or(help),
    };
    let mut describedby = Vec::new();
    if help.is_some() {
        describedby.push(format!("{id}-help"));
    }
    if error.is_some() {
        describedby.push(format!("{id}-error"));
    }
    let options = choices
        .into_iter()
        .filter_map(|value| hint.options.get(value).map(|label| (value, label)))
        .map(|(value, label)| OptionView {
            value: value.to_string(),
            label: ui.l(label).to_string(),
            checked: values.contains(name, value),
        })
        .collect();
    FieldView {
        name: name.to_string(),
        id,
        label: ui.l(&hint.label).to_string(),
        help,
        kind,
        html_type,
        inputmode,
        autocomplete: hint.autocomplete.clone().unwrap_or_default(),
        required,
        value: values.first(name),
        options,
        error,
        describedby: describedby.join(" "),
        entries: Vec::new(),
        address_for: String::new(),
        address_name: String::new(),
        lookup_note: values.lookup_note(name),
    }
}

/// "Answer only if …" for a question asked only sometimes (pages work without JavaScript, so
/// every question is shown and the condition is said in words, as GOV.UK does without scripts).
fn condition_text(ui: Ui, form: &CompiledForm, hint: &FieldHint) -> Option<String> {
    let condition = hint.show_if.as_ref()?;
    let source = form.definition().ui.fields.get(&condition.field)?;
    let answer = match source.input {
        InputKind::Checkbox if condition.equals == "true" => {
            ui.t("チェックした", "ticked").to_string()
        }
        InputKind::Checkbox => ui.t("チェックしていない", "not ticked").to_string(),
        _ => source
            .options
            .get(&condition.equals)
            .map(|label| ui.l(label).to_string())
            .unwrap_or_else(|| condition.equals.clone()),
    };
    Some(if ui.en {
        format!(
            "Answer only if \"{}\" is \"{answer}\".",
            ui.l(&source.label)
        )
    } else {
        format!(
            "「{}」が「{answer}」の場合のみ回答してください。",
            ui.l(&source.label)
        )
    })
}
