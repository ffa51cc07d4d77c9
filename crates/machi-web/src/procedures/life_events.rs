//! ライフイベントのワンストップ: pick the life event, answer a few yes/no questions, fill in
//! one page where the applicant's own answers are asked once, and submit every procedure that
//! applies at once — one application (and receipt number) per procedure, all committed together.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use machi_core::life_events::{field_for, personal_key, Bundle, PERSONAL_KEYS};
use machi_core::procedures::{CompiledForm, FieldError};
use machi_core::receipt::AccessCode;
use machi_store::{NewApplication, ProcedureRecord};

use super::form_view::{field_view, FieldView, Values};
use crate::kit::{city_name, no_store, render, ApiError, City, PageError, Ui};
use crate::AppState;

#[derive(Template)]
#[template(path = "life_events.html")]
struct ListPage {
    ui: Ui,
    city: String,
    back: String,
    bundles: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "life_event_questions.html")]
struct QuestionsPage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    summary: String,
    questions: Vec<(String, String, String)>,
}

/// One procedure's part of the combined form.
struct Section {
    id: String,
    name: String,
    department: String,
    fields: Vec<FieldView>,
    attachments: Vec<String>,
}

#[derive(Template)]
#[template(path = "life_event_form.html")]
struct FormPage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    yes: Vec<String>,
    shared: Vec<FieldView>,
    sections: Vec<Section>,
    counter_only: Vec<(String, String)>,
    with_files: Vec<(String, String)>,
    errors: Vec<(String, String)>,
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

fn not_found(ui: Ui) -> PageError {
    PageError::from(ApiError::not_found(ui.t(
        "そのライフイベントはありません。",
        "There is no such life event.",
    )))
}

pub(super) async fn list(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
) -> Result<Response, PageError> {
    let bundles = state.store.bundles(&city.id).await?;
    Ok(render(&ListPage {
        ui,
        city: city_name(ui, &city),
        back: "/life-events".into(),
        bundles: bundles
            .iter()
            .map(|b| {
                (
                    b.id.clone(),
                    ui.l(&b.name).to_string(),
                    ui.l(&b.summary).to_string(),
                )
            })
            .collect(),
    }))
}

async fn bundle_of(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    id: &str,
) -> Result<Bundle, PageError> {
    state
        .store
        .bundle(&city.id, id)
        .await?
        .ok_or_else(|| not_found(ui))
}

pub(super) async fn questions(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let bundle = bundle_of(&state, &city, ui, &id).await?;
    Ok(render(&QuestionsPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/life-events/{id}"),
        name: ui.l(&bundle.name).to_string(),
        summary: ui.l(&bundle.summary).to_string(),
        questions: bundle
            .questions
            .iter()
            .map(|q| {
                (
                    q.id.clone(),
                    ui.l(&q.label).to_string(),
                    q.help
                        .as_ref()
                        .map(|h| ui.l(h).to_string())
                        .unwrap_or_default(),
                )
            })
            .collect(),
        id,
    }))
}

/// The procedures that apply and can be done online together, with their forms; the rest
/// by (id, name): done at the counter, or online on their own because they need files.
struct Chosen {
    online: Vec<(Arc<ProcedureRecord>, i64, Arc<CompiledForm>)>,
    counter_only: Vec<(String, String)>,
    with_files: Vec<(String, String)>,
}

async fn chosen(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    bundle: &Bundle,
    yes: &[String],
) -> Result<Chosen, PageError> {
    let yes: Vec<&str> = yes.iter().map(String::as_str).collect();
    let mut chosen = Chosen {
        online: Vec::new(),
        counter_only: Vec::new(),
        with_files: Vec::new(),
    };
    for id in bundle.applicable(&yes) {
        match super::submit::online_form(state, &city.id, id, ui).await {
            // Files cannot ride along in the one-page form: such procedures are linked instead.
            Ok((record, _, form)) if form.definition().attachments.iter().any(|a| a.required) => {
                chosen
                    .with_files
                    .push((id.to_string(), ui.l(&record.definition.name).to_string()));
            }
            Ok(online) => chosen.online.push(online),
            Err(_) => {
                let record = state.procedures.get(&state.store, &city.id, id).await?;
                if let Some(record) = record.filter(|r| r.published) {
                    chosen
                        .counter_only
                        .push((id.to_string(), ui.l(&record.definition.name).to_string()));
                }
            }
        }
    }
    Ok(chosen)
}

/// `yes` answers from the query or form pairs.
fn yes_answers(pairs: &[(String, String)], bundle: &Bundle) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, v)| k == "yes" && bundle.questions.iter().any(|q| q.id == *v))
        .map(|(_, v)| v.clone())
        .collect()
}

/// The HTML name of a procedure's own question.
fn own_name(procedure: &str, field: &str) -> String {
    format!("{procedure}.{field}")
}

fn draw_form(
    ui: Ui,
    city: &machi_store::Tenant,
    bundle: &Bundle,
    yes: Vec<String>,
    chosen: &Chosen,
    values: &Values,
    errors: &[(String, String)],
) -> Response {
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.clone())
    };
    // Each personal answer is drawn once, from the first form that asks it.
    let mut shared = Vec::new();
    for key in PERSONAL_KEYS {
        let found = chosen
            .online
            .iter()
            .find_map(|(_, _, form)| field_for(form, key).map(|field| (form, field)));
        if let Some((form, field)) = found {
            if let Some(hint) = form.definition().ui.fields.get(&field) {
                let mut view = field_view(ui, form, &field, hint, values, &|_: &str| error_of(key));
                rename(&mut view, key);
                shared.push(view);
            }
        }
    }
    let sections = chosen
        .online
        .iter()
        .map(|(record, _, form)| {
            let id = record.definition.id.clone();
            Section {
                fields: form
                    .fields()
                    .filter(|(name, _)| personal_key(form, name).is_none())
                    .map(|(name, hint)| {
                        let html = own_name(&id, name);
                        let errors = |own: &str| error_of(&own_name(&id, own));
                        let mut view = field_view(ui, form, name, hint, values, &errors);
                        rename(&mut view, &html);
                        view
                    })
                    .collect(),
                attachments: form
                    .definition()
                    .attachments
                    .iter()
                    .map(|a| ui.l(&a.label).to_string())
                    .collect(),
                name: ui.l(&record.definition.name).to_string(),
                department: ui
                    .name(
                        &record.definition.department.ja,
                        &record.definition.department.en,
                    )
                    .to_string(),
                id,
            }
        })
        .collect();
    let page = FormPage {
        ui,
        city: city_name(ui, city),
        back: format!("/life-events/{}", bundle.id),
        id: bundle.id.clone(),
        name: ui.l(&bundle.name).to_string(),
        yes,
        shared,
        sections,
        counter_only: chosen.counter_only.clone(),
        with_files: chosen.with_files.clone(),
        errors: errors
            .iter()
            .map(|(name, message)| (format!("f-{name}"), message.clone()))
            .collect(),
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, no_store(render(&page))).into_response()
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

pub(super) async fn form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let bundle = bundle_of(&state, &city, ui, &id).await?;
    let yes = yes_answers(&pairs, &bundle);
    let chosen = chosen(&state, &city, ui, &bundle, &yes).await?;
    Ok(draw_form(
        ui,
        &city,
        &bundle,
        yes,
        &chosen,
        &Values::default(),
        &[],
    ))
}

/// The answers of one procedure's form, taken from the combined form's pairs.
fn answers_for(
    form: &CompiledForm,
    procedure: &str,
    pairs: &[(String, String)],
) -> Vec<(String, String)> {
    let prefix = format!("{procedure}.");
    let mut own: Vec<(String, String)> = pairs
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(&prefix)
                .map(|field| (field.to_string(), v.clone()))
        })
        .collect();
    for key in PERSONAL_KEYS {
        if let Some(field) = field_for(form, key) {
            own.extend(
                pairs
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| (field.clone(), v.clone())),
            );
        }
    }
    own
}

/// Where an error of `field` in `procedure`'s form shows in the combined form.
fn error_name(form: &CompiledForm, procedure: &str, error: &FieldError) -> String {
    match personal_key(form, &error.field) {
        Some(key) => key.to_string(),
        None => own_name(procedure, &error.field),
    }
}

pub(super) async fn submit(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let bundle = bundle_of(&state, &city, ui, &id).await?;
    let resident = crate::kit::resident::signed_in(&state, &city, &headers)
        .await
        .map(|r| r.resident_id);
    let yes = yes_answers(&pairs, &bundle);
    let chosen = chosen(&state, &city, ui, &bundle, &yes).await?;
    if chosen.online.is_empty() {
        return Err(PageError::from(ApiError::bad_request(ui.t(
            "オンラインで申請できる手続がありません。",
            "None of these procedures can be done online.",
        ))));
    }
    let mut validated = Vec::new();
    let mut errors: Vec<(String, String)> = Vec::new();
    for (record, version, form) in &chosen.online {
        let procedure = record.definition.id.as_str();
        let raw = form.answers_from_pairs(&answers_for(form, procedure, &pairs));
        match form.validate(&raw) {
            Ok(answers) => validated.push((record.clone(), *version, form.for_storage(answers))),
            Err(found) => {
                for error in found {
                    let name = error_name(form, procedure, &error);
                    if !errors.iter().any(|(n, _)| *n == name) {
                        errors.push((name, ui.l(&error.message).to_string()));
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        let values = Values::from_pairs(&pairs);
        return Ok(draw_form(
            ui, &city, &bundle, yes, &chosen, &values, &errors,
        ));
    }
    let access_code = AccessCode::generate();
    let bundle_id = format!(
        "{}-{}",
        bundle.id,
        &machi_store::sessions::random_token()[..16]
    );
    let applications: Vec<NewApplication> = validated
        .into_iter()
        .map(|(record, version, answers)| {
            let answers = answers.into_inner();
            NewApplication {
                tenant_id: city.id.clone(),
                procedure_id: record.definition.id.clone(),
                department_code: record.definition.department.code.clone(),
                processing_days: record.definition.processing_days,
                form_version: version,
                request_sha256: super::submit::request_digest(
                    &record.definition.id,
                    version,
                    &answers,
                    &[],
                ),
                answers,
                access_digest: access_code.digest(),
                made_via: "online",
                idempotency_key: None,
                attachments: Vec::new(),
                bundle_id: Some(bundle_id.clone()),
                resident_id: resident.clone(),
                // A bundle's applications are acknowledged on its own receipt page only.
                acknowledgement: None,
            }
        })
        .collect();
    let names: HashMap<String, (String, String)> = chosen
        .online
        .iter()
        .map(|(record, _, _)| {
            (
                record.definition.id.clone(),
                (
                    ui.l(&record.definition.name).to_string(),
                    ui.name(
                        &record.definition.department.ja,
                        &record.definition.department.en,
                    )
                    .to_string(),
                ),
            )
        })
        .collect();
    let procedures: Vec<String> = applications
        .iter()
        .map(|a| a.procedure_id.clone())
        .collect();
    let receipts = state.store.submit_together(applications).await?;
    metrics::counter!("machi_applications_total", "made_via" => "online")
        .increment(receipts.len() as u64);
    Ok(no_store(render(&DonePage {
        ui,
        city: city_name(ui, &city),
        back: "/status".into(),
        name: ui.l(&bundle.name).to_string(),
        receipts: procedures
            .iter()
            .zip(&receipts)
            .map(|(procedure, receipt)| {
                let (name, department) = names.get(procedure).cloned().unwrap_or_default();
                (name, department, receipt.receipt_number.clone())
            })
            .collect(),
        access_code: access_code.display(),
    })))
}
