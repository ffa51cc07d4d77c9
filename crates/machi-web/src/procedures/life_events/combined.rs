//! The combined form of a life event: the online procedures that apply, each a part, with every
//! question two of them ask drawn once.
//!
//! A question is asked once when it is about the applicant (a personal key such as `name` or
//! `bday`, found by its autocomplete token), or when two forms ask it under the same name, kind,
//! Japanese label and choices (the child's name and birth date in the child allowance and the
//! nursery forms, or the same declaration). Answers the event itself gives (a birth bundle's
//! 請求の理由) are the bundle's and are not asked at all. Each part's answers are put back
//! together under its own form's names before they are validated, so a part is checked exactly
//! as if the form had been sent on its own.

use std::sync::Arc;

use machi_core::life_events::{field_for, personal_key, PERSONAL_KEYS};
use machi_core::procedures::{CompiledForm, FieldHint, InputKind};
use machi_store::{NewAttachment, ProcedureRecord};

use crate::kit::Upload;

/// One procedure of the combined form.
pub(super) struct Part {
    pub record: Arc<ProcedureRecord>,
    pub version: i64,
    pub form: Arc<CompiledForm>,
    /// Answers the event gives, as the form's pairs: not asked.
    pub fixed: Vec<(String, String)>,
}

impl Part {
    pub fn id(&self) -> &str {
        &self.record.definition.id
    }

    pub fn is_fixed(&self, field: &str) -> bool {
        self.fixed.iter().any(|(k, _)| k == field)
    }

    /// The HTML name prefix of this part's own questions and files.
    fn prefix(&self) -> String {
        format!("{}.", self.id())
    }
}

/// A question asked once for all the parts that ask it.
pub(super) struct Shared {
    /// Its HTML name: the personal key (`name`, `bday`, …), or `_.` and the question's name (no
    /// procedure id has `_`, so it never meets a part's own names).
    pub html: String,
    /// The parts that ask it, with the question's name in each.
    pub asked_in: Vec<(usize, String)>,
    /// About the applicant (drawn first), rather than a question the forms share.
    pub personal: bool,
}

pub(super) struct Combined {
    pub parts: Vec<Part>,
    pub shared: Vec<Shared>,
}

/// Whether two forms ask the same question: same kind, Japanese label and choices.
fn same_question(a: &CompiledForm, b: &CompiledForm, name: &str, hint: &FieldHint) -> bool {
    b.definition().ui.fields.get(name).is_some_and(|other| {
        other.input == hint.input
            && other.label.ja == hint.label.ja
            && a.choices(name) == b.choices(name)
            && a.is_required(name) == b.is_required(name)
    })
}

impl Combined {
    pub fn new(parts: Vec<Part>) -> Self {
        let mut shared: Vec<Shared> = PERSONAL_KEYS
            .iter()
            .filter_map(|key| {
                let asked_in: Vec<(usize, String)> = parts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, part)| {
                        field_for(&part.form, key)
                            .filter(|f| !part.is_fixed(f))
                            .map(|f| (i, f))
                    })
                    .collect();
                (!asked_in.is_empty()).then(|| Shared {
                    html: key.to_string(),
                    asked_in,
                    personal: true,
                })
            })
            .collect();
        let free = |part: &Part, name: &str| {
            !part.is_fixed(name) && personal_key(&part.form, name).is_none()
        };
        for (i, part) in parts.iter().enumerate() {
            for (name, hint) in part.form.fields() {
                let taken = shared
                    .iter()
                    .any(|s| s.asked_in.iter().any(|(p, f)| *p == i && f == name));
                if hint.input == InputKind::Group || taken || !free(part, name) {
                    continue;
                }
                let mut asked_in = vec![(i, name.to_string())];
                asked_in.extend(
                    parts
                        .iter()
                        .enumerate()
                        .skip(i + 1)
                        .filter(|(_, other)| {
                            free(other, name) && same_question(&part.form, &other.form, name, hint)
                        })
                        .map(|(j, _)| (j, name.to_string())),
                );
                if asked_in.len() > 1 {
                    shared.push(Shared {
                        html: format!("_.{name}"),
                        asked_in,
                        personal: false,
                    });
                }
            }
        }
        Self { parts, shared }
    }

    fn shared_of(&self, part: usize, field: &str) -> Option<&Shared> {
        self.shared
            .iter()
            .find(|s| s.asked_in.iter().any(|(p, f)| *p == part && f == field))
    }

    /// The HTML name of a part's question, or of an input in one of its group's entries.
    pub fn html_name(&self, part: usize, field: &str) -> String {
        match self.shared_of(part, field) {
            Some(shared) => shared.html.clone(),
            None => format!("{}{field}", self.parts[part].prefix()),
        }
    }

    /// Whether a part's question is drawn in the part's own section.
    pub fn is_own(&self, part: usize, field: &str) -> bool {
        let question = field.split('[').next().unwrap_or(field);
        self.shared_of(part, question).is_none() && !self.parts[part].is_fixed(question)
    }

    /// A part's answers as pairs of its own form: its own questions (never one the event fixes
    /// or another part asks), the shared questions it asks, and the fixed answers.
    pub fn pairs_for(&self, part: usize, pairs: &[(String, String)]) -> Vec<(String, String)> {
        let prefix = self.parts[part].prefix();
        let mut own: Vec<(String, String)> = pairs
            .iter()
            .filter_map(|(k, v)| {
                let field = k.strip_prefix(&prefix)?;
                self.is_own(part, field)
                    .then(|| (field.to_string(), v.clone()))
            })
            .collect();
        for shared in &self.shared {
            for (_, field) in shared.asked_in.iter().filter(|(p, _)| *p == part) {
                own.extend(
                    pairs
                        .iter()
                        .filter(|(k, _)| *k == shared.html)
                        .map(|(_, v)| (field.clone(), v.clone())),
                );
            }
        }
        own.extend(self.parts[part].fixed.iter().cloned());
        own
    }

    /// Takes a part's uploads out of `uploads`, named as its own form names them.
    pub fn take_uploads(&self, part: usize, uploads: &mut Vec<Upload>) -> Vec<Upload> {
        let prefix = self.parts[part].prefix();
        let (mine, rest): (Vec<Upload>, Vec<Upload>) = std::mem::take(uploads)
            .into_iter()
            .partition(|u| u.field.starts_with(&prefix));
        *uploads = rest;
        mine.into_iter()
            .map(|u| Upload {
                field: u.field[prefix.len()..].to_string(),
                ..u
            })
            .collect()
    }

    /// The carried files of a part, named as its own form names them.
    pub fn files_for(&self, part: usize, files: &[NewAttachment]) -> Vec<NewAttachment> {
        let prefix = self.parts[part].prefix();
        files
            .iter()
            .filter_map(|f| {
                let field = f.field.strip_prefix(&prefix)?.to_string();
                Some(NewAttachment { field, ..f.clone() })
            })
            .collect()
    }

    /// A part's files named as the combined form names them (to carry them on).
    pub fn prefixed(&self, part: usize, files: Vec<NewAttachment>) -> Vec<NewAttachment> {
        let prefix = self.parts[part].prefix();
        files
            .into_iter()
            .map(|f| NewAttachment {
                field: format!("{prefix}{}", f.field),
                ..f
            })
            .collect()
    }
}
