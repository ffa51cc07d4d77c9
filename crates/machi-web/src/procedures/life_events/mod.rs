//! ライフイベントのワンストップ: pick the life event, answer a few yes/no questions, fill in
//! one page where every question is asked once (see [`combined`]), check the answers, and
//! submit every procedure that applies at once — one application (and receipt number) per
//! procedure, all committed together. What cannot be done online is a checklist of where to go,
//! what to bring and by when (see [`checklist`]).
//!
//! The form, its errors and the check-answers page are one address (`POST /life-events/{id}`,
//! told apart by `step`): answers travel as the form's own pairs and are validated again on the
//! submit; files are checked and saved when first attached and carried sealed. The submit uses
//! the check page's one-time token as the idempotency key of each application and answers with
//! a redirect to the receipt, as a single application does.

mod checklist;
mod combined;
mod pages;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use machi_core::life_events::Bundle;
use machi_store::{NewApplication, NewAttachment};
use serde_json::{Map, Value};

use self::checklist::{checklist, ChecklistEntry};
use self::combined::{Combined, Part};
use self::pages::Frame;
use super::carried;
use super::receipt;
use crate::kit::{city_name, read_form, render, see_other, ApiError, City, PageError, Ui, Upload};
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

/// `yes` answers from the query or form pairs.
fn yes_answers(pairs: &[(String, String)], bundle: &Bundle) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, v)| k == "yes" && bundle.questions.iter().any(|q| q.id == *v))
        .map(|(_, v)| v.clone())
        .collect()
}

/// A life event as the resident answered its questions: the combined form of the procedures
/// that apply and can be done online now, and the checklist of everything else.
struct Applying {
    bundle: Bundle,
    yes: Vec<String>,
    combined: Combined,
    checklist: Vec<ChecklistEntry>,
}

impl Applying {
    fn frame<'a>(&'a self, ui: Ui, city: &'a machi_store::Tenant) -> Frame<'a> {
        Frame {
            ui,
            city,
            bundle: &self.bundle,
            yes: &self.yes,
            combined: &self.combined,
            checklist: &self.checklist,
        }
    }
}

async fn applying(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    id: &str,
    pairs: &[(String, String)],
) -> Result<Applying, PageError> {
    let bundle = bundle_of(state, city, ui, id).await?;
    let yes = yes_answers(pairs, &bundle);
    let answered: Vec<&str> = yes.iter().map(String::as_str).collect();
    let mut parts = Vec::new();
    let mut elsewhere = Vec::new();
    for procedure in bundle.applicable(&answered) {
        match super::submit::online_form(state, &city.id, procedure, ui).await {
            Ok((record, version, form)) => parts.push(Part {
                fixed: bundle
                    .item(procedure)
                    .map(|item| item.answers.clone().into_iter().collect())
                    .unwrap_or_default(),
                record,
                version,
                form,
            }),
            Err(_) => elsewhere.push(procedure.to_string()),
        }
    }
    let checklist = checklist(state, city, ui, &bundle, &answered, &elsewhere).await?;
    Ok(Applying {
        combined: Combined::new(parts),
        bundle,
        yes,
        checklist,
    })
}

/// Once-only: a signed-in resident's profile fills in the questions about them.
async fn prefill(
    state: &AppState,
    city: &machi_store::Tenant,
    headers: &HeaderMap,
    combined: &Combined,
) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let Some(profile) = crate::kit::resident::signed_in_profile(state, city, headers).await else {
        return pairs;
    };
    for (i, part) in combined.parts.iter().enumerate() {
        for (field, value) in crate::kit::resident::profile_pairs(&profile, &part.form) {
            let html = combined.html_name(i, &field);
            if !pairs.iter().any(|(k, _)| *k == html) {
                pairs.push((html, value));
            }
        }
    }
    pairs
}

pub(super) async fn form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let applying = applying(&state, &city, ui, &id, &pairs).await?;
    let prefilled = prefill(&state, &city, &headers, &applying.combined).await;
    Ok(pages::form_page(
        &applying.frame(ui, &city),
        &prefilled,
        &[],
        &[],
    ))
}

/// The answers and files of every part, checked; errors by the combined form's names.
#[derive(Default)]
struct Checked {
    answers: Vec<Map<String, Value>>,
    /// Every good file, named as the combined form names them.
    files: Vec<NewAttachment>,
    errors: Vec<(String, String)>,
}

async fn check(
    state: &AppState,
    ui: Ui,
    combined: &Combined,
    pairs: &[(String, String)],
    mut uploads: Vec<Upload>,
    carried: &[NewAttachment],
) -> Checked {
    let mut checked = Checked::default();
    for (i, part) in combined.parts.iter().enumerate() {
        let raw = part.form.answers_from_pairs(&combined.pairs_for(i, pairs));
        let mut errors = match part.form.validate(&raw) {
            Ok(answers) => {
                checked.answers.push(answers);
                Vec::new()
            }
            Err(errors) => errors,
        };
        let kept = carried::checked(state, &part.form, combined.files_for(i, carried)).await;
        let own_uploads = combined.take_uploads(i, &mut uploads);
        let (files, file_errors) =
            super::submit::check_and_keep_files(state, &part.form, own_uploads, kept).await;
        errors.extend(file_errors);
        checked.files.extend(combined.prefixed(i, files));
        for error in errors {
            let name = combined.html_name(i, &error.field);
            if !checked.errors.iter().any(|(n, _)| *n == name) {
                checked
                    .errors
                    .push((name, ui.l(&error.message).to_string()));
            }
        }
    }
    checked
}

/// The carried files each part asks for and that check out.
async fn attached(
    state: &AppState,
    combined: &Combined,
    carried: &[NewAttachment],
) -> Vec<NewAttachment> {
    let mut files = Vec::new();
    for (i, part) in combined.parts.iter().enumerate() {
        let own = carried::checked(state, &part.form, combined.files_for(i, carried)).await;
        files.extend(combined.prefixed(i, own));
    }
    files
}

/// The form's `POST`: `step=check` (the default) checks the answers and shows them to be
/// checked, `step=edit` opens the form again with them, `step=send` applies.
pub(super) async fn submit(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, PageError> {
    let (pairs, uploads) = read_form(&state, request).await?;
    let applying = applying(&state, &city, ui, &id, &pairs).await?;
    let frame = applying.frame(ui, &city);
    let key = carried::key(&state).await?;
    let carried = carried::from_pairs(&key, &pairs);
    let step = pairs
        .iter()
        .find(|(k, _)| k == "step")
        .map(|(_, v)| v.as_str());
    if applying.combined.parts.is_empty() {
        // Nothing to send online: the page is the checklist.
        return Ok(pages::form_page(&frame, &[], &[], &[]));
    }
    if let Some(lookup) = super::postcode::fill_address(&state, ui, &pairs).await {
        let checked = check(&state, ui, &applying.combined, &[], uploads, &carried).await;
        let kept = carried::sealed(&key, checked.files);
        let found = (lookup.postcode_field, lookup.note);
        return Ok(pages::form_page_with(
            &frame,
            &lookup.pairs,
            &[],
            &kept,
            Some(found),
        ));
    }
    match step {
        Some("edit") => {
            let files = attached(&state, &applying.combined, &carried).await;
            let kept = carried::sealed(&key, files);
            Ok(pages::form_page(&frame, &pairs, &[], &kept))
        }
        Some("send") => send(&state, &frame, &headers, &pairs, &carried, &key).await,
        _ => {
            let checked = check(&state, ui, &applying.combined, &pairs, uploads, &carried).await;
            let kept = carried::sealed(&key, checked.files);
            if checked.errors.is_empty() {
                Ok(pages::check_page(&frame, &pairs, &checked.answers, &kept))
            } else {
                Ok(pages::form_page(&frame, &pairs, &checked.errors, &kept))
            }
        }
    }
}

const BUNDLE_RECEIPT_COOKIE: &str = "machi_bundle_receipt";

fn receipt_path(bundle: &str) -> String {
    format!("/life-events/{bundle}/receipt")
}

/// Applies for every part at once, after checking everything again.
async fn send(
    state: &AppState,
    frame: &Frame<'_>,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    carried: &[NewAttachment],
    key: &str,
) -> Result<Response, PageError> {
    let Frame {
        ui, city, combined, ..
    } = *frame;
    let checked = check(state, ui, combined, pairs, Vec::new(), carried).await;
    if !checked.errors.is_empty() {
        let kept = carried::sealed(key, checked.files);
        return Ok(pages::form_page(frame, pairs, &checked.errors, &kept));
    }
    let token = receipt::token_of(pairs);
    let access_code = state
        .store
        .idempotent_access_code(&city.id, &receipt::idempotency_key(&token));
    let bundle_id = format!("{}-{}", frame.bundle.id, &token[..16]);
    let resident = crate::kit::resident::signed_in(state, city, headers)
        .await
        .map(|r| r.resident_id);
    let mut applications = Vec::new();
    for ((i, part), answers) in combined.parts.iter().enumerate().zip(checked.answers) {
        let files =
            carried::required(state, ui, &part.form, combined.files_for(i, carried)).await?;
        let definition = &part.record.definition;
        let answers = part.form.for_storage(answers).into_inner();
        applications.push(NewApplication {
            tenant_id: city.id.clone(),
            procedure_id: definition.id.clone(),
            department_code: definition.department.code.clone(),
            processing_days: definition.processing_days,
            form_version: part.version,
            request_sha256: super::submit::request_digest(
                &definition.id,
                part.version,
                &answers,
                &files,
            ),
            answers,
            access_digest: access_code.digest(),
            made_via: "online",
            idempotency_key: Some(format!(
                "{}-{}",
                receipt::idempotency_key(&token),
                definition.id
            )),
            attachments: files,
            bundle_id: Some(bundle_id.clone()),
            resident_id: resident.clone(),
            // A bundle's applications are acknowledged on its own receipt page only.
            acknowledgement: None,
        });
    }
    let receipts = state.store.submit_together(applications).await?;
    metrics::counter!("machi_applications_total", "made_via" => "online")
        .increment(receipts.len() as u64);
    let numbers: Vec<&str> = receipts.iter().map(|r| r.receipt_number.as_str()).collect();
    Ok(receipt::redirect_with_cookie(
        headers,
        &receipt_path(&frame.bundle.id),
        BUNDLE_RECEIPT_COOKIE,
        &format!("{token}.{}", numbers.join(".")),
    ))
}

/// The receipt of applications made together, reached by the redirect after the submit. Without
/// its cookie (expired, another browser) it leads to the status page.
pub(super) async fn receipt_page(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let bundle = bundle_of(&state, &city, ui, &id).await?;
    let Some(mut carried) =
        crate::kit::cookie(&headers, BUNDLE_RECEIPT_COOKIE).map(|v| v.split('.'))
    else {
        return Ok(see_other("/status"));
    };
    let Some(token) = carried.next().filter(|t| receipt::is_token(t)) else {
        return Ok(see_other("/status"));
    };
    let code = state
        .store
        .idempotent_access_code(&city.id, &receipt::idempotency_key(token))
        .display();
    let mut receipts = Vec::new();
    for number in carried.take(bundle.procedures.len()) {
        let Ok(view) = state
            .store
            .application_by_access_code(&city.id, number, &code)
            .await
        else {
            continue;
        };
        let record = state
            .procedures
            .get(&state.store, &city.id, &view.procedure_id)
            .await?;
        if let Some(record) = record {
            let p = &record.definition;
            receipts.push((
                ui.l(&p.name).to_string(),
                ui.name(&p.department.ja, &p.department.en).to_string(),
                number.to_string(),
            ));
        }
    }
    if receipts.is_empty() {
        return Ok(see_other("/status"));
    }
    Ok(pages::done_page(ui, &city, &bundle, receipts, code))
}
