//! ライフイベントのワンストップ (life-event bundles): for moving, a birth or a death, a few
//! yes/no questions decide which procedures apply; the answers every form asks about the
//! applicant (name, reading, birth date, address, phone, e-mail) are given once and go into
//! each form; one submission makes one application per procedure.

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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleFile {
    bundles: Vec<Bundle>,
}

impl Bundle {
    /// Problems with the bundle; `procedure_exists` says whether the catalog has an id.
    pub fn check(&self, procedure_exists: impl Fn(&str) -> bool) -> Result<(), Vec<String>> {
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
        for item in &self.procedures {
            if !procedure_exists(&item.procedure) {
                problems.push(format!(
                    "bundle '{}': procedure '{}' is not in the catalog",
                    self.id, item.procedure
                ));
            }
            for question in &item.when {
                if !self.questions.iter().any(|q| q.id == *question) {
                    problems.push(format!(
                        "bundle '{}': '{}' depends on unknown question '{question}'",
                        self.id, item.procedure
                    ));
                }
            }
        }
        if self.procedures.is_empty() {
            problems.push(format!("bundle '{}': list at least one procedure", self.id));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The procedures that apply when the questions in `yes` were answered yes, in order.
    pub fn applicable(&self, yes: &[&str]) -> Vec<&str> {
        self.procedures
            .iter()
            .filter(|item| item.when.iter().all(|q| yes.contains(&q.as_str())))
            .map(|item| item.procedure.as_str())
            .collect()
    }
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
        assert_eq!(bundle.check(|_| true), Ok(()));
        let problems = bundle.check(|id| id != "allowance").unwrap_err();
        assert!(problems[0].contains("not in the catalog"));
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
