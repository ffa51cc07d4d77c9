//! ライフイベントのワンストップ (life-event bundles): for moving, a birth or a death, a few
//! yes/no questions decide which procedures apply; the answers every form asks about the
//! applicant (name, reading, birth date, address, phone, e-mail) are given once and go into
//! each form; one submission makes one application per procedure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::procedures::{CompiledForm, FieldHint, InputKind, Localized};

/// A city's bundle for one life event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Slug: `birth`, `moving`, `death`, …
    pub id: String,
    pub name: Localized,
    #[serde(default)]
    pub summary: Localized,
    pub questions: Vec<Question>,
    pub procedures: Vec<BundleItem>,
    /// What the event asks of the family beyond what can be sent online, as an おくやみコーナー
    /// gives it: procedures done at the counter (or elsewhere), each with when it applies.
    /// Shown with what to bring, where and by when, even when nothing is applied for online.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<BundleItem>,
}

/// A yes/no question of the questionnaire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub label: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localized>,
}

/// A procedure of the bundle and when it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleItem {
    pub procedure: String,
    /// Applies only if every one of these questions was answered yes (empty: always).
    #[serde(default)]
    pub when: Vec<String>,
    /// Answers the event itself gives, as form pairs (a birth bundle's 請求の理由 is
    /// `reason: birth`): they go into the application and are not asked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleFile {
    bundles: Vec<Bundle>,
}

impl Bundle {
    /// Problems with the bundle. `catalog` answers the question names of a procedure's online
    /// form (empty when it has none), or `None` when the catalog has no such procedure.
    pub fn check(&self, catalog: impl Fn(&str) -> Option<Vec<String>>) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if !crate::procedures::is_valid_id(&self.id) {
            problems.push(format!(
                "bundle '{}': use lowercase letters, digits and hyphens",
                self.id
            ));
        }
        if self.name.ja.trim().is_empty() {
            problems.push(format!("bundle '{}': name.ja is required", self.id));
        }
        for item in self.procedures.iter().chain(&self.checklist) {
            let Some(fields) = catalog(&item.procedure) else {
                problems.push(format!(
                    "bundle '{}': procedure '{}' is not in the catalog",
                    self.id, item.procedure
                ));
                continue;
            };
            for question in &item.when {
                if !self.questions.iter().any(|q| q.id == *question) {
                    problems.push(format!(
                        "bundle '{}': '{}' depends on unknown question '{question}'",
                        self.id, item.procedure
                    ));
                }
            }
            for field in item.answers.keys() {
                if !fields.contains(field) {
                    problems.push(format!(
                        "bundle '{}': '{}' has no question '{field}' to answer",
                        self.id, item.procedure
                    ));
                }
            }
        }
        for item in &self.checklist {
            if !item.answers.is_empty() {
                problems.push(format!(
                    "bundle '{}': checklist item '{}' cannot give answers",
                    self.id, item.procedure
                ));
            }
        }
        if self.procedures.is_empty() && self.checklist.is_empty() {
            problems.push(format!(
                "bundle '{}': list at least one procedure or checklist item",
                self.id
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The procedures that apply when the questions in `yes` were answered yes, in order.
    pub fn applicable(&self, yes: &[&str]) -> Vec<&str> {
        applying(&self.procedures, yes)
            .map(|item| item.procedure.as_str())
            .collect()
    }

    /// The bundle item of `procedure` (its fixed answers), if the bundle lists it.
    pub fn item(&self, procedure: &str) -> Option<&BundleItem> {
        self.procedures.iter().find(|i| i.procedure == procedure)
    }

    /// The checklist items that apply when the questions in `yes` were answered yes.
    pub fn checklist_for(&self, yes: &[&str]) -> Vec<&str> {
        applying(&self.checklist, yes)
            .map(|item| item.procedure.as_str())
            .collect()
    }
}

fn applying<'a>(items: &'a [BundleItem], yes: &[&str]) -> impl Iterator<Item = &'a BundleItem> {
    let yes: Vec<String> = yes.iter().map(|q| q.to_string()).collect();
    items
        .iter()
        .filter(move |item| item.when.iter().all(|q| yes.contains(q)))
}

/// Parses a bundle file (`bundles:` in YAML or JSON).
pub fn parse_bundles(bytes: &[u8], yaml: bool) -> Result<Vec<Bundle>, String> {
    let file: BundleFile = if yaml {
        serde_yaml_ng::from_slice(bytes).map_err(|e| e.to_string())?
    } else {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?
    };
    Ok(file.bundles)
}

/// The answers about the applicant themselves, shared by every form that asks them. A field
/// is one of them when its HTML autocomplete token says it is the person's own data; the
/// reading (kana) is the kana question right after the applicant's name.
pub const PERSONAL_KEYS: [&str; 7] = [
    "name",
    "name-kana",
    "bday",
    "postal-code",
    "street-address",
    "tel",
    "email",
];

/// Which personal answer `field` of `form` is, if any.
pub fn personal_key(form: &CompiledForm, field: &str) -> Option<&'static str> {
    let hint = form.definition().ui.fields.get(field)?;
    if let Some(token) = hint.autocomplete.as_deref() {
        return PERSONAL_KEYS.iter().copied().find(|k| *k == token);
    }
    if hint.input == InputKind::Kana {
        let order = &form.definition().ui.order;
        let position = order.iter().position(|n| n == field)?;
        let before = position.checked_sub(1).and_then(|p| order.get(p))?;
        let is_name = |h: &FieldHint| h.autocomplete.as_deref() == Some("name");
        if form.definition().ui.fields.get(before).is_some_and(is_name) {
            return Some("name-kana");
        }
    }
    None
}

/// The field of `form` that holds personal answer `key`.
pub fn field_for(form: &CompiledForm, key: &str) -> Option<String> {
    form.fields()
        .map(|(name, _)| name)
        .find(|name| personal_key(form, name) == Some(key))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        serde_json::from_value(serde_json::json!({
            "id": "birth",
            "name": {"ja": "出生", "en": "Birth"},
            "questions": [{"id": "daycare", "label": {"ja": "保育所を希望", "en": ""}}],
            "procedures": [
                {"procedure": "allowance"},
                {"procedure": "daycare-application", "when": ["daycare"]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_questionnaire_decides_what_applies() {
        let bundle = bundle();
        assert_eq!(bundle.applicable(&[]), ["allowance"]);
        assert_eq!(
            bundle.applicable(&["daycare"]),
            ["allowance", "daycare-application"]
        );
        assert_eq!(bundle.check(|_| Some(Vec::new())), Ok(()));
        let problems = bundle
            .check(|id| (id != "allowance").then(Vec::new))
            .unwrap_err();
        assert!(problems[0].contains("not in the catalog"));
    }

    #[test]
    fn fixed_answers_must_name_a_question_and_checklists_apply_by_the_questions() {
        let mut bundle = bundle();
        bundle.procedures[0]
            .answers
            .insert("reason".into(), "birth".into());
        bundle.checklist.push(BundleItem {
            procedure: "death-registration".into(),
            when: vec!["daycare".into()],
            answers: Default::default(),
        });
        let fields = |_: &str| Some(vec!["reason".to_string()]);
        assert_eq!(bundle.check(fields), Ok(()));
        assert_eq!(bundle.checklist_for(&[]), Vec::<&str>::new());
        assert_eq!(bundle.checklist_for(&["daycare"]), ["death-registration"]);
        let problems = bundle.check(|_| Some(Vec::new())).unwrap_err();
        assert!(problems[0].contains("no question 'reason'"), "{problems:?}");
        bundle.checklist[0].answers.insert("x".into(), "y".into());
        let problems = bundle
            .check(|_| Some(vec!["reason".into(), "x".into()]))
            .unwrap_err();
        assert!(problems[0].contains("cannot give answers"), "{problems:?}");
    }

    #[test]
    fn personal_answers_are_found_by_autocomplete_and_the_reading_after_the_name() {
        let form: crate::procedures::FormDefinition = serde_json::from_value(serde_json::json!({
            "version": 1,
            "schema": {"type": "object", "properties": {
                "parent": {"type": "string"}, "parent_kana": {"type": "string"},
                "child": {"type": "string"}, "child_kana": {"type": "string"}
            }, "examples": [{}]},
            "ui": {"order": ["parent", "parent_kana", "child", "child_kana"], "fields": {
                "parent": {"label": {"ja": "氏名", "en": ""}, "input": "text", "autocomplete": "name"},
                "parent_kana": {"label": {"ja": "フリガナ", "en": ""}, "input": "kana"},
                "child": {"label": {"ja": "子の氏名", "en": ""}, "input": "text"},
                "child_kana": {"label": {"ja": "子のフリガナ", "en": ""}, "input": "kana"}
            }}
        }))
        .unwrap();
        let compiled = form.compile().unwrap();
        assert_eq!(personal_key(&compiled, "parent"), Some("name"));
        assert_eq!(personal_key(&compiled, "parent_kana"), Some("name-kana"));
        assert_eq!(personal_key(&compiled, "child"), None);
        assert_eq!(personal_key(&compiled, "child_kana"), None);
        assert_eq!(
            field_for(&compiled, "name-kana").as_deref(),
            Some("parent_kana")
        );
    }
}
