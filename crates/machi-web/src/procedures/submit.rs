//! Taking in an application, shared by the API and the resident pages: validate the answers,
//! check and durably save the files, then hand it to the group-commit writer.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;

use machi_core::procedures::{
    AttachmentKind, CompiledForm, FieldError, Localized, StorableAnswers,
};
use machi_core::receipt::AccessCode;
use machi_store::{NewApplication, NewAttachment, ProcedureRecord, Receipt};
use serde_json::{Map, Value};

use crate::kit::{clean_filename, ApiError, Ui, Upload};
use crate::AppState;

/// The procedure and its current form if residents can apply online now; otherwise 404 (no
/// such procedure) or 409 (done at the counter). Messages in the language of `ui`.
pub(crate) async fn online_form(
    state: &AppState,
    tenant: &str,
    id: &str,
    ui: Ui,
) -> Result<(Arc<ProcedureRecord>, i64, Arc<CompiledForm>), ApiError> {
    let record = state
        .procedures
        .get(&state.store, tenant, id)
        .await?
        .filter(|r| r.published)
        .ok_or_else(|| {
            ApiError::not_found(ui.t("その手続はありません。", "There is no such procedure."))
        })?;
    let version = record
        .form_version
        .filter(|_| record.accepts_online())
        .ok_or_else(|| {
            let detail = ui.t(
                "この手続は窓口で受け付けています。",
                "This procedure is done at the counter, not online.",
            );
            ApiError::new(
                StatusCode::CONFLICT,
                "not-online",
                "Not available online",
                detail,
            )
        })?;
    let form = state.forms.get(&state.store, tenant, id, version).await?;
    Ok((record, version, form))
}

/// An application taken in: its receipt and the access code to show the resident once.
pub(crate) struct Accepted {
    pub receipt: Receipt,
    pub access_code: AccessCode,
}

/// Checks uploads against the form's attachment list (presence, size, type sniffed from the
/// content) and saves them durably, all or none.
pub(crate) async fn check_and_save_files(
    state: &AppState,
    form: &CompiledForm,
    uploads: Vec<Upload>,
) -> Result<Vec<NewAttachment>, Vec<FieldError>> {
    let (checked, errors) = check_files(form, &uploads, &[]);
    if !errors.is_empty() {
        return Err(errors);
    }
    save_files(state, checked).await
}

/// Like [`check_and_save_files`], for a form page that keeps what it can: every good upload
/// is saved whatever else is wrong, and a file attached earlier (`kept`) stays for its field
/// unless a new one replaces it. Answers the files the form now has, and the errors.
pub(crate) async fn check_and_keep_files(
    state: &AppState,
    form: &CompiledForm,
    uploads: Vec<Upload>,
    kept: Vec<NewAttachment>,
) -> (Vec<NewAttachment>, Vec<FieldError>) {
    let (checked, mut errors) = check_files(form, &uploads, &kept);
    let replaced: Vec<String> = checked.iter().map(|c| c.field.clone()).collect();
    let mut files: Vec<NewAttachment> = kept
        .into_iter()
        .filter(|k| !replaced.contains(&k.field))
        .collect();
    match save_files(state, checked).await {
        Ok(saved) => files.extend(saved),
        Err(failed) => errors.extend(failed),
    }
    (files, errors)
}

/// An upload that passed its checks, not saved yet.
struct CheckedUpload<'a> {
    field: String,
    filename: String,
    kind: AttachmentKind,
    bytes: &'a [u8],
}

/// Checks each upload; a required file is missing only when neither an upload nor a file
/// attached earlier (`kept`) gives it.
fn check_files<'a>(
    form: &CompiledForm,
    uploads: &'a [Upload],
    kept: &[NewAttachment],
) -> (Vec<CheckedUpload<'a>>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut accepted = Vec::new();
    for upload in uploads {
        if !form
            .definition()
            .attachments
            .iter()
            .any(|spec| spec.name == upload.field)
        {
            errors.push(FieldError::new(
                &upload.field,
                Localized::new(
                    "この手続では受け付けない添付ファイルです",
                    "This form does not take this file",
                ),
            ));
        }
    }
    for spec in &form.definition().attachments {
        let upload = uploads
            .iter()
            .find(|u| u.field == spec.name && !u.bytes.is_empty());
        let Some(upload) = upload else {
            let attached_before = kept.iter().any(|k| k.field == spec.name);
            if spec.required && !attached_before {
                errors.push(FieldError::new(
                    &spec.name,
                    Localized::new(
                        format!("{}を添付してください", spec.label.ja),
                        format!("Attach {}", spec.label.get("en")),
                    ),
                ));
            }
            continue;
        };
        match check_file(spec, &upload.bytes) {
            Err(message) => errors.push(FieldError::new(&spec.name, message)),
            Ok(kind) => accepted.push(CheckedUpload {
                field: spec.name.clone(),
                filename: clean_filename(&upload.filename),
                kind,
                bytes: &upload.bytes,
            }),
        }
    }
    (accepted, errors)
}

/// Saves checked uploads durably.
async fn save_files(
    state: &AppState,
    checked: Vec<CheckedUpload<'_>>,
) -> Result<Vec<NewAttachment>, Vec<FieldError>> {
    let mut saved = Vec::new();
    for upload in checked {
        let file = state
            .store
            .save_file(upload.bytes.to_vec())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "attachment could not be saved");
                vec![FieldError::new(
                    &upload.field,
                    Localized::new(
                        "ファイルを保存できませんでした。もう一度お試しください",
                        "The file could not be saved; please try again",
                    ),
                )]
            })?;
        saved.push(NewAttachment {
            field: upload.field,
            filename: upload.filename,
            media_type: upload.kind.media_type().to_string(),
            file,
        });
    }
    Ok(saved)
}

fn check_file(
    spec: &machi_core::procedures::AttachmentSpec,
    bytes: &[u8],
) -> Result<AttachmentKind, Localized> {
    if bytes.len() as u64 > spec.max_bytes {
        let mb = spec.max_bytes as f64 / 1_048_576.0;
        return Err(Localized::new(
            format!("{}は{mb:.0}MB以下のファイルにしてください", spec.label.ja),
            format!("{} must be {mb:.0} MB or smaller", spec.label.get("en")),
        ));
    }
    let allowed: Vec<&str> = spec.accept.iter().map(|k| k.label()).collect();
    match AttachmentKind::sniff(bytes) {
        Some(kind) if spec.accept.contains(&kind) => Ok(kind),
        _ => Err(Localized::new(
            format!(
                "{}は {} のファイルにしてください",
                spec.label.ja,
                allowed.join("・")
            ),
            format!(
                "{} must be a {} file",
                spec.label.get("en"),
                allowed.join(", ")
            ),
        )),
    }
}

/// An application ready to store: validated answers, saved files, and how it was made.
pub(crate) struct Submission<'a> {
    pub procedure: &'a ProcedureRecord,
    pub form_version: i64,
    pub answers: StorableAnswers,
    pub attachments: Vec<NewAttachment>,
    pub idempotency_key: Option<String>,
    /// "online", or "counter" when staff submit it for a visitor (書かない窓口).
    pub made_via: &'static str,
    /// The signed-in resident making it, for "my applications".
    pub resident_id: Option<String>,
}

/// Stores validated answers with saved attachments; returns once the application is on disk.
pub(crate) async fn submit(
    state: &AppState,
    city: &machi_store::Tenant,
    submission: Submission<'_>,
) -> Result<Accepted, ApiError> {
    let tenant = city.id.as_str();
    let Submission {
        procedure,
        form_version,
        answers,
        attachments,
        idempotency_key,
        made_via,
        resident_id,
    } = submission;
    let answers = answers.into_inner();
    let form = state
        .forms
        .get(&state.store, tenant, &procedure.definition.id, form_version)
        .await?;
    let acknowledgement = super::acknowledge::acknowledgement(
        &state.public_url.for_city(city),
        city,
        procedure,
        &form,
        &answers,
    );
    let access_code = match &idempotency_key {
        Some(key) => state.store.idempotent_access_code(tenant, key),
        None => AccessCode::generate(),
    };
    let request_sha256 = request_digest(
        &procedure.definition.id,
        form_version,
        &answers,
        &attachments,
    );
    let application = NewApplication {
        tenant_id: tenant.to_string(),
        procedure_id: procedure.definition.id.clone(),
        department_code: procedure.definition.department.code.clone(),
        processing_days: procedure.definition.processing_days,
        form_version,
        answers,
        access_digest: access_code.digest(),
        made_via,
        idempotency_key,
        request_sha256,
        attachments,
        bundle_id: None,
        resident_id,
        acknowledgement,
    };
    let receipt = state.store.submit_application(application).await?;
    metrics::counter!("machi_applications_total", "made_via" => made_via)
        .increment(u64::from(!receipt.replayed));
    Ok(Accepted {
        receipt,
        access_code,
    })
}

pub(crate) fn request_digest(
    procedure: &str,
    version: i64,
    answers: &Map<String, Value>,
    files: &[NewAttachment],
) -> String {
    let sorted: BTreeMap<&String, &Value> = answers.iter().collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.field.as_str(), f.file.sha256.as_str()))
        .collect();
    let material = serde_json::to_vec(&(procedure, version, sorted, files)).unwrap_or_default();
    machi_core::digest::sha256_hex(&material)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_file_names_lose_their_directories() {
        assert_eq!(clean_filename("C:\\Users\\a\\免許証.pdf"), "免許証.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename(""), "file");
    }

    #[test]
    fn request_digest_ignores_key_order() {
        let a: Map<String, Value> = serde_json::from_str(r#"{"x":1,"y":2}"#).unwrap();
        let b: Map<String, Value> = serde_json::from_str(r#"{"y":2,"x":1}"#).unwrap();
        assert_eq!(
            request_digest("p", 1, &a, &[]),
            request_digest("p", 1, &b, &[])
        );
        assert_ne!(
            request_digest("p", 1, &a, &[]),
            request_digest("p", 2, &a, &[])
        );
    }
}
