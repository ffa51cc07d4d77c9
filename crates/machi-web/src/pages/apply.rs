//! Applying online: the form page, the confirm page and the receipt page.
//!
//! Answers travel from the form to the confirm page and back as canonical JSON in a hidden
//! field and are validated again on the final submit, so nothing a browser sends is trusted.
//! Files are checked and saved durably at the form step and referenced by digest afterwards.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::procedures::{CompiledForm, FieldError, InputKind};
use machi_store::{NewAttachment, ProcedureRecord, StoredFile};
use serde_json::{Map, Value};

use super::{city_name, no_store, render, PageError};
use crate::i18n::Ui;
use crate::problem::ApiError;
use crate::submit::{self, Upload};
use crate::tenant::City;
use crate::AppState;

/// One choice of a select, radio or checkbox group.
struct OptionView {
    value: String,
    label: String,
    checked: bool,
}

/// Everything the template needs to draw one field.
struct FieldView {
    name: String,
    id: String,
    label: String,
    help: Option<String>,
    kind: &'static str,
    html_type: &'static str,
    inputmode: &'static str,
    autocomplete: String,
    required: bool,
    value: String,
    options: Vec<OptionView>,
    error: Option<String>,
    describedby: String,
}

struct AttachmentView {
    name: String,
    label: String,
    help: Option<String>,
    required: bool,
    accept: String,
    limits: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    fields: Vec<FieldView>,
    attachments: Vec<AttachmentView>,
    /// (target element id, message) for the error summary.
    errors: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    form_version: i64,
    rows: Vec<(String, String)>,
    files: Vec<(String, String)>,
    answers_json: String,
    carried: Vec<String>,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    ui: Ui,
    city: String,
    back: String,
    name: String,
    receipt_number: String,
    access_code: String,
}

/// The procedure and its current form, or a friendly error page when it cannot be done online.
async fn online_form(
    state: &AppState,
    tenant: &str,
    id: &str,
    ui: Ui,
) -> Result<(Arc<ProcedureRecord>, i64, Arc<CompiledForm>), PageError> {
    submit::online_form(state, tenant, id, ui)
        .await
        .map_err(|e| PageError::new(ui, e))
}

pub(super) async fn show_form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (record, _, form) = online_form(&state, &city.id, &id, ui).await?;
    Ok(form_page(
        ui,
        &city,
        &record,
        &form,
        &Values::default(),
        &[],
    ))
}

/// Field values to show again: raw strings as typed, or canonical JSON when editing.
#[derive(Default)]
struct Values(HashMap<String, Vec<String>>);

impl Values {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.clone()).or_default().push(v.clone());
        }
        Self(map)
    }

    fn from_answers(answers: &Map<String, Value>) -> Self {
        let map = answers
            .iter()
            .map(|(k, v)| {
                let values = match v {
                    Value::Array(items) => items.iter().map(value_text).collect(),
                    other => vec![value_text(other)],
                };
                (k.clone(), values)
            })
            .collect();
        Self(map)
    }

    fn first(&self, name: &str) -> String {
        self.0
            .get(name)
            .and_then(|v| v.last())
            .cloned()
            .unwrap_or_default()
    }

    fn contains(&self, name: &str, value: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|v| v.iter().any(|x| x == value))
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field_target(form: &CompiledForm, field: &str) -> String {
    let grouped = form
        .definition()
        .ui
        .fields
        .get(field)
        .is_some_and(|h| matches!(h.input, InputKind::Radio | InputKind::Checkboxes));
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

fn form_page(
    ui: Ui,
    city: &machi_store::Tenant,
    record: &ProcedureRecord,
    form: &CompiledForm,
    values: &Values,
    errors: &[FieldError],
) -> Response {
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| ui.l(&e.message).to_string())
    };
    let fields = form
        .fields()
        .map(|(name, hint)| field_view(ui, form, name, hint, values, error_of(name)))
        .collect();
    let attachments = form
        .definition()
        .attachments
        .iter()
        .map(|a| AttachmentView {
            name: a.name.clone(),
            label: ui.l(&a.label).to_string(),
            help: a.help.as_ref().map(|h| ui.l(h).to_string()),
            required: a.required,
            accept: a
                .accept
                .iter()
                .map(|k| k.media_type())
                .collect::<Vec<_>>()
                .join(","),
            limits: limits_text(ui, a),
            error: error_of(&a.name),
        })
        .collect();
    let page = FormPage {
        ui,
        city: city_name(ui, city),
        back: format!("/procedures/{}/apply", record.definition.id),
        id: record.definition.id.clone(),
        name: ui.l(&record.definition.name).to_string(),
        fields,
        attachments,
        errors: errors
            .iter()
            .map(|e| (field_target(form, &e.field), ui.l(&e.message).to_string()))
            .collect(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, render(&page)).into_response()
}

fn limits_text(ui: Ui, spec: &machi_core::procedures::AttachmentSpec) -> String {
    let kinds: Vec<&str> = spec.accept.iter().map(|k| k.label()).collect();
    let mb = spec.max_bytes as f64 / 1_048_576.0;
    if ui.en {
        format!("{} up to {mb:.0} MB.", kinds.join(", "))
    } else {
        format!("{}、{mb:.0}MBまで。", kinds.join("・"))
    }
}

fn field_view(
    ui: Ui,
    form: &CompiledForm,
    name: &str,
    hint: &machi_core::procedures::FieldHint,
    values: &Values,
    error: Option<String>,
) -> FieldView {
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
            "text",
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
    };
    let id = format!("f-{name}");
    let help = hint
        .help
        .as_ref()
        .map(|h| ui.l(h).to_string())
        .or(default_help.map(str::to_string));
    let mut describedby = Vec::new();
    if help.is_some() {
        describedby.push(format!("{id}-help"));
    }
    if error.is_some() {
        describedby.push(format!("{id}-error"));
    }
    let options = form
        .choices(name)
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
        required: form.is_required(name),
        value: values.first(name),
        options,
        error,
        describedby: describedby.join(" "),
    }
}

/// Reads a urlencoded or multipart form into text pairs and uploaded files.
async fn read_form(
    state: &AppState,
    request: Request,
) -> Result<(Vec<(String, String)>, Vec<Upload>), ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "bad-form", "Bad form", e.body_text()))?;
        return Ok((pairs, Vec::new()));
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut pairs = Vec::new();
    let mut uploads = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::new(e.status(), "bad-form", "Bad form", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(filename) => {
                let bytes = field.bytes().await.map_err(|e| {
                    ApiError::new(e.status(), "bad-form", "Bad form", e.body_text())
                })?;
                if !bytes.is_empty() {
                    uploads.push(Upload {
                        field: name,
                        filename,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            None => pairs.push((
                name,
                field
                    .text()
                    .await
                    .map_err(|e| ApiError::bad_request(e.body_text()))?,
            )),
        }
    }
    Ok((pairs, uploads))
}

pub(super) async fn post_form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let (record, version, form) = online_form(&state, &city.id, &id, ui).await?;
    let (pairs, uploads) = read_form(&state, request)
        .await
        .map_err(|e| PageError::new(ui, e))?;
    if let Some((_, json)) = pairs.iter().find(|(k, _)| k == "edit_json") {
        let answers: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
        return Ok(form_page(
            ui,
            &city,
            &record,
            &form,
            &Values::from_answers(&answers),
            &[],
        ));
    }
    let raw = form.answers_from_pairs(&pairs);
    let answers = form.validate(&raw);
    let files = submit::check_and_save_files(&state, &form, uploads).await;
    match (answers, files) {
        (Ok(answers), Ok(files)) => Ok(confirm_page(
            ui, &city, &record, &form, version, &answers, &files,
        )),
        (answers, files) => {
            let mut errors = answers.err().unwrap_or_default();
            errors.extend(files.err().unwrap_or_default());
            Ok(form_page(
                ui,
                &city,
                &record,
                &form,
                &Values::from_pairs(&pairs),
                &errors,
            ))
        }
    }
}

fn display_value(ui: Ui, form: &CompiledForm, name: &str, value: &Value) -> String {
    let Some(hint) = form.definition().ui.fields.get(name) else {
        return value_text(value);
    };
    let option = |v: &str| {
        hint.options
            .get(v)
            .map(|l| ui.l(l).to_string())
            .unwrap_or_else(|| v.to_string())
    };
    match (hint.input, value) {
        (InputKind::Checkbox, Value::Bool(yes)) => ui
            .t(
                if *yes { "はい" } else { "いいえ" },
                if *yes { "Yes" } else { "No" },
            )
            .to_string(),
        (InputKind::Checkboxes, Value::Array(items)) => items
            .iter()
            .map(|v| option(&value_text(v)))
            .collect::<Vec<_>>()
            .join(ui.t("、", ", ")),
        (InputKind::Select | InputKind::Radio, Value::String(v)) => option(v),
        (InputKind::Date, Value::String(v)) => {
            match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Ok(date) => format!("{}（{v}）", machi_core::wareki::format_wareki(date)),
                Err(_) => v.clone(),
            }
        }
        (_, other) => value_text(other),
    }
}

fn confirm_page(
    ui: Ui,
    city: &machi_store::Tenant,
    record: &ProcedureRecord,
    form: &CompiledForm,
    version: i64,
    answers: &Map<String, Value>,
    files: &[NewAttachment],
) -> Response {
    let rows = form
        .fields()
        .filter_map(|(name, hint)| {
            answers.get(name).map(|v| {
                (
                    ui.l(&hint.label).to_string(),
                    display_value(ui, form, name, v),
                )
            })
        })
        .collect();
    let label_of = |field: &str| {
        form.definition()
            .attachments
            .iter()
            .find(|a| a.name == field)
            .map(|a| ui.l(&a.label).to_string())
            .unwrap_or_default()
    };
    let page = ConfirmPage {
        ui,
        city: city_name(ui, city),
        back: format!("/procedures/{}/apply", record.definition.id),
        id: record.definition.id.clone(),
        name: ui.l(&record.definition.name).to_string(),
        form_version: version,
        rows,
        files: files
            .iter()
            .map(|f| (label_of(&f.field), f.filename.clone()))
            .collect(),
        answers_json: Value::Object(answers.clone()).to_string(),
        carried: files.iter().map(carry).collect(),
    };
    no_store(render(&page))
}

/// A saved file as a hidden field: field, digest, type, size and name, tab-separated.
fn carry(file: &NewAttachment) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        file.field, file.file.sha256, file.media_type, file.file.size_bytes, file.filename
    )
}

fn uncarry(text: &str) -> Option<NewAttachment> {
    let mut parts = text.splitn(5, '\t');
    let field = parts.next()?.to_string();
    let sha256 = parts.next()?.to_string();
    let media_type = parts.next()?.to_string();
    let size_bytes = parts.next()?.parse().ok()?;
    let filename = submit::clean_filename(parts.next()?);
    let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then_some(NewAttachment {
        field,
        filename,
        media_type,
        file: StoredFile { sha256, size_bytes },
    })
}

pub(super) async fn submit(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (record, _, _) = online_form(&state, &city.id, &id, ui).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bad = || {
        PageError::new(
            ui,
            ApiError::bad_request(ui.t(
                "送信内容が正しくありません。最初からやり直してください。",
                "The form was not sent correctly. Please start again.",
            )),
        )
    };
    let version: i64 = field("form_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let answers: Map<String, Value> = field("answers_json")
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(bad)?;
    let form = state
        .forms
        .get(&state.store, &city.id, &id, version)
        .await
        .map_err(|e| PageError::new(ui, e))?;
    let carried: Vec<NewAttachment> = pairs
        .iter()
        .filter(|(k, _)| k == "attachment")
        .filter_map(|(_, v)| uncarry(v))
        .collect();
    let answers = match form.validate(&answers) {
        Ok(answers) => answers,
        Err(errors) => {
            return Ok(form_page(
                ui,
                &city,
                &record,
                &form,
                &Values::from_answers(&answers),
                &errors,
            ))
        }
    };
    let attachments = verify_carried(&state, &form, carried)
        .await
        .ok_or_else(bad)?;
    let accepted = submit::submit(
        &state,
        &city.id,
        &record,
        version,
        answers,
        attachments,
        None,
    )
    .await
    .map_err(|e| PageError::new(ui, e))?;
    let page = ReceiptPage {
        ui,
        city: city_name(ui, &city),
        back: "/status".into(),
        name: ui.l(&record.definition.name).to_string(),
        receipt_number: accepted.receipt.receipt_number,
        access_code: accepted.access_code.display(),
    };
    Ok(no_store(render(&page)))
}

/// Keeps only carried files that this form asks for and that are on disk with the stated
/// size; all required ones must be there.
async fn verify_carried(
    state: &AppState,
    form: &CompiledForm,
    carried: Vec<NewAttachment>,
) -> Option<Vec<NewAttachment>> {
    let mut kept = Vec::new();
    for file in carried {
        let spec = form
            .definition()
            .attachments
            .iter()
            .find(|a| a.name == file.field)?;
        let bytes = state.store.read_file(file.file.sha256.clone()).await.ok()?;
        let kind = machi_core::procedures::AttachmentKind::sniff(&bytes)?;
        if bytes.len() as u64 != file.file.size_bytes || !spec.accept.contains(&kind) {
            return None;
        }
        kept.push(NewAttachment {
            media_type: kind.media_type().to_string(),
            ..file
        });
    }
    let complete = form
        .definition()
        .attachments
        .iter()
        .filter(|a| a.required)
        .all(|a| kept.iter().any(|k| k.field == a.name));
    complete.then_some(kept)
}
