//! The pages of a life event's combined form: the form (with its errors and the files already
//! attached), the check-answers page with a 変更 button per answer, and the receipt.

use askama::Template;
use axum::response::{IntoResponse, Response};
use machi_core::life_events::Bundle;
use machi_core::procedures::display::{attachment_label, field_rows};
use machi_store::NewAttachment;
use serde_json::{Map, Value};

use super::checklist::ChecklistEntry;
use super::combined::Combined;
use crate::kit::{city_name, no_store, render, Ui};
use crate::procedures::carried::{self, KeptFile};
use crate::procedures::form_view::{
    attachment_view, field_target, field_view, input_id, AnswerRowView, AttachmentView, FieldView,
    Values,
};
use crate::procedures::postcode::link_postcodes;

/// One procedure's part of the combined form.
struct Section {
    id: String,
    name: String,
    department: String,
    fields: Vec<FieldView>,
    attachments: Vec<AttachmentView>,
}

#[derive(Template)]
#[template(path = "life_event_form.html")]
struct FormPage<'a> {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    yes: Vec<String>,
    personal: Vec<FieldView>,
    common: Vec<FieldView>,
    /// Shared tick boxes (a declaration all the forms ask): drawn last.
    confirmations: Vec<FieldView>,
    sections: Vec<Section>,
    checklist: &'a [ChecklistEntry],
    errors: Vec<(String, String)>,
}

/// What a page of the life event shows besides its answers.
pub(super) struct Frame<'a> {
    pub ui: Ui,
    pub city: &'a machi_store::Tenant,
    pub bundle: &'a Bundle,
    pub yes: &'a [String],
    pub combined: &'a Combined,
    pub checklist: &'a [ChecklistEntry],
}

impl Frame<'_> {
    fn name(&self) -> String {
        self.ui.l(&self.bundle.name).to_string()
    }

    fn back(&self) -> String {
        format!("/life-events/{}", self.bundle.id)
    }
}

/// The element id a part's question is drawn with (an error or a 変更 button leads there):
/// the id the form on its own gives it, under the question's name in the combined form.
fn target(combined: &Combined, part: usize, field: &str) -> String {
    let own = field_target(&combined.parts[part].form, field);
    let html = combined.html_name(part, field);
    match own.strip_prefix(&input_id(field)) {
        Some(rest) => format!("f-{html}{rest}"),
        None => format!("f-{html}"),
    }
}

/// The combined form, with the answers of `pairs`, the errors by HTML name and the files
/// already attached (named as the combined form names them).
pub(super) fn form_page(
    frame: &Frame<'_>,
    pairs: &[(String, String)],
    errors: &[(String, String)],
    kept: &[KeptFile],
) -> Response {
    form_page_with(frame, pairs, errors, kept, None)
}

/// [`form_page`] with what an address lookup found for a postcode input (by its name).
pub(super) fn form_page_with(
    frame: &Frame<'_>,
    pairs: &[(String, String)],
    errors: &[(String, String)],
    kept: &[KeptFile],
    found: Option<(String, String)>,
) -> Response {
    let Frame { ui, combined, .. } = *frame;
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.clone())
    };
    let values: Vec<Values> = (0..combined.parts.len())
        .map(|part| Values::from_pairs(&combined.pairs_for(part, pairs)))
        .collect();
    let draw = |part: usize, field: &str| {
        let form = &combined.parts[part].form;
        let hint = form.definition().ui.fields.get(field)?;
        let errors = |own: &str| error_of(&combined.html_name(part, own));
        let mut view = field_view(ui, form, field, hint, &values[part], &errors);
        let html = combined.html_name(part, field);
        view.lookup_note = found
            .as_ref()
            .filter(|(name, _)| *name == html)
            .map(|(_, note)| note.clone());
        rename(&mut view, &html);
        Some(view)
    };
    let (mut personal, mut common, mut confirmations) = (Vec::new(), Vec::new(), Vec::new());
    for shared in &combined.shared {
        let (part, field) = &shared.asked_in[0];
        let Some(view) = draw(*part, field) else {
            continue;
        };
        match (shared.personal, view.kind) {
            (true, _) => personal.push(view),
            (false, "checkbox") => confirmations.push(view),
            (false, _) => common.push(view),
        }
    }
    link_postcodes(&mut personal);
    link_postcodes(&mut common);
    let sections = combined
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let definition = &part.record.definition;
            let kept_for = |html: &str| {
                kept.iter()
                    .find(|k| k.file.field == html)
                    .map(|k| (k.sealed.clone(), carried::describe(ui, &k.file)))
            };
            Section {
                id: part.id().to_string(),
                name: ui.l(&definition.name).to_string(),
                department: ui
                    .name(&definition.department.ja, &definition.department.en)
                    .to_string(),
                fields: {
                    let mut fields: Vec<FieldView> = part
                        .form
                        .fields()
                        .filter(|(name, _)| combined.is_own(i, name))
                        .filter_map(|(name, _)| draw(i, name))
                        .collect();
                    link_postcodes(&mut fields);
                    fields
                },
                attachments: part
                    .form
                    .definition()
                    .attachments
                    .iter()
                    .map(|spec| {
                        let html = format!("{}.{}", part.id(), spec.name);
                        let (error, kept) = (error_of(&html), kept_for(&html));
                        attachment_view(ui, spec, html, error, kept)
                    })
                    .collect(),
            }
        })
        .collect();
    let summary = errors
        .iter()
        .map(|(name, message)| (summary_target(combined, name), message.clone()))
        .collect();
    let page = FormPage {
        ui,
        city: city_name(ui, frame.city),
        back: frame.back(),
        id: frame.bundle.id.clone(),
        name: frame.name(),
        yes: frame.yes.to_vec(),
        personal,
        common,
        confirmations,
        sections,
        checklist: frame.checklist,
        errors: summary,
    };
    let status = crate::kit::form_status(errors);
    (status, no_store(render(&page))).into_response()
}

/// Where the error summary links for an error of the input named `html`.
fn summary_target(combined: &Combined, html: &str) -> String {
    if let Some(shared) = combined.shared.iter().find(|s| s.html == html) {
        let (part, field) = &shared.asked_in[0];
        return target(combined, *part, field);
    }
    for (i, part) in combined.parts.iter().enumerate() {
        let Some(field) = html.strip_prefix(&format!("{}.", part.id())) else {
            continue;
        };
        let attachments = &part.form.definition().attachments;
        if attachments.iter().any(|a| a.name == field) {
            return format!("att-{html}");
        }
        return target(combined, i, field);
    }
    format!("f-{html}")
}

/// Gives a drawn question its name in the combined form (and ids that follow it); the inputs
/// of a group's entries keep their place under the new name.
fn rename(view: &mut FieldView, name: &str) {
    let old_name = std::mem::replace(&mut view.name, name.to_string());
    let old_id = std::mem::replace(&mut view.id, format!("f-{name}"));
    view.describedby = view.describedby.replace(&old_id, &view.id);
    for entry in &mut view.entries {
        for input in &mut entry.fields {
            let within = input.name.strip_prefix(&old_name).unwrap_or_default();
            rename(input, &format!("{name}{within}"));
        }
    }
}

struct CheckSection {
    name: String,
    department: String,
    rows: Vec<AnswerRowView>,
}

#[derive(Template)]
#[template(path = "life_event_check.html")]
struct CheckPage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    shared: Vec<AnswerRowView>,
    sections: Vec<CheckSection>,
    hidden: Vec<(String, String)>,
    carried: Vec<String>,
    submission: String,
}

/// The check-answers page: every answer once, each with a 変更 button that opens the form at
/// its question; the answers ride along as the form's own pairs, the files sealed.
pub(super) fn check_page(
    frame: &Frame<'_>,
    pairs: &[(String, String)],
    answers: &[Map<String, Value>],
    files: &[KeptFile],
) -> Response {
    let Frame { ui, combined, .. } = *frame;
    let rows_of = |part: usize| field_rows(ui.en, &combined.parts[part].form, &answers[part]);
    let shared = combined
        .shared
        .iter()
        .flat_map(|shared| {
            let (part, field) = &shared.asked_in[0];
            rows_of(*part)
                .into_iter()
                .filter(|row| row.field == *field)
                .map(|row| AnswerRowView {
                    change: Some(target(combined, *part, &row.field)),
                    label: row.label,
                    value: row.value,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let sections = combined
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let definition = &part.record.definition;
            let mut rows: Vec<AnswerRowView> = rows_of(i)
                .into_iter()
                .filter(|row| combined.is_own(i, &row.field) || part.is_fixed(&row.field))
                .map(|row| AnswerRowView {
                    change: combined
                        .is_own(i, &row.field)
                        .then(|| target(combined, i, &row.field)),
                    label: row.label,
                    value: row.value,
                })
                .collect();
            rows.extend(files_of(ui, combined, i, files));
            CheckSection {
                name: ui.l(&definition.name).to_string(),
                department: ui
                    .name(&definition.department.ja, &definition.department.en)
                    .to_string(),
                rows,
            }
        })
        .collect();
    let page = CheckPage {
        ui,
        city: city_name(ui, frame.city),
        back: frame.back(),
        id: frame.bundle.id.clone(),
        name: frame.name(),
        shared,
        sections,
        hidden: pairs
            .iter()
            .filter(|(k, _)| !is_control(k))
            .cloned()
            .collect(),
        carried: files.iter().map(|f| f.sealed.clone()).collect(),
        submission: crate::procedures::receipt::submission_token(),
    };
    no_store(render(&page))
}

/// The attached files of a part as rows (each changed on the form).
fn files_of(ui: Ui, combined: &Combined, part: usize, files: &[KeptFile]) -> Vec<AnswerRowView> {
    let own: Vec<NewAttachment> = files.iter().map(|k| k.file.clone()).collect();
    combined
        .files_for(part, &own)
        .into_iter()
        .map(|file| AnswerRowView {
            label: attachment_label(ui.en, &combined.parts[part].form, &file.field),
            value: carried::describe(ui, &file),
            change: Some(format!("att-{}.{}", combined.parts[part].id(), file.field)),
        })
        .collect()
}

/// Fields of the pages themselves, which are never carried as answers.
pub(super) fn is_control(name: &str) -> bool {
    matches!(
        name,
        "step" | "submission" | "attachment" | "remove_attachment"
    )
}

#[derive(Template)]
#[template(path = "life_event_done.html")]
struct DonePage {
    ui: Ui,
    city: String,
    back: String,
    name: String,
    receipts: Vec<(String, String, String)>,
    access_code: String,
}

/// The receipt of the applications made together: (procedure, department, receipt number).
pub(super) fn done_page(
    ui: Ui,
    city: &machi_store::Tenant,
    bundle: &Bundle,
    receipts: Vec<(String, String, String)>,
    access_code: String,
) -> Response {
    no_store(render(&DonePage {
        ui,
        city: city_name(ui, city),
        back: "/status".into(),
        name: ui.l(&bundle.name).to_string(),
        receipts,
        access_code,
    }))
}
