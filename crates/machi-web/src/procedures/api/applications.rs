//! `POST /api/v1/procedures/{id}/applications` and `GET /api/v1/applications/{receipt_number}`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use machi_core::procedures::Localized;
use serde_json::{Map, Value};

use super::types::{ApplicationCreated, ApplicationRequest, ApplicationStatus};
use crate::kit::{ApiError, City, Ui, Upload};
use crate::procedures::submit;
use crate::AppState;

/// The body of a submission, from JSON or multipart.
struct Submission {
    answers: Map<String, Value>,
    uploads: Vec<Upload>,
}

/// Submit an application. Send JSON `{"answers": {…}}`, or `multipart/form-data` with a part
/// `answers` (that JSON object) and one part per attachment named as in the form. With the
/// same `Idempotency-Key` again, the first receipt is returned and nothing new is created.
#[utoipa::path(post, path = "/api/v1/procedures/{id}/applications", tag = "applications",
    params(("id" = String, Path, description = "Procedure id", pattern = "^[^\\x00-\\x1f\\x7f/]+$"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1-255 visible ASCII characters", pattern = "^[!-~]{1,255}$")),
    request_body(content = ApplicationRequest, description = "Answers (or multipart with files)"),
    responses(
        (status = 201, body = ApplicationCreated, description = "Stored and on disk"),
        (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Malformed body or header"),
        (status = 404, body = crate::kit::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::kit::Problem, content_type = "application/problem+json", description = "Not available online"),
        (status = 413, body = crate::kit::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::kit::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::kit::Problem, content_type = "application/problem+json", description = "Answers need correcting")))]
pub(crate) async fn create_application(
    State(state): State<AppState>,
    City(city): City,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let key = crate::kit::idempotency_key(request.headers())?;
    let (record, version, form) =
        submit::online_form(&state, &city.id, &id, Ui { en: true }).await?;
    let submission = read_submission(&state, request).await?;
    let answers = form
        .validate(&submission.answers)
        .map_err(|e| ApiError::invalid_fields(e, "/answers"))?;
    let attachments = submit::check_and_save_files(&state, &form, submission.uploads)
        .await
        .map_err(|e| ApiError::invalid_fields(e, "/attachments"))?;
    let accepted = submit::submit(
        &state,
        &city,
        submit::Submission {
            procedure: &record,
            form_version: version,
            answers: form.for_storage(answers),
            attachments,
            idempotency_key: key,
            made_via: "online",
            resident_id: None,
        },
    )
    .await?;
    let receipt = &accepted.receipt;
    let body = ApplicationCreated {
        receipt_number: receipt.receipt_number.clone(),
        access_code: accepted.access_code.display(),
        status: receipt.status.as_str().to_string(),
        submitted_at: receipt.submitted_at.to_string(),
        procedure_id: id,
        form_version: version,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let location = format!("/api/v1/applications/{}", receipt.receipt_number);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if receipt.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn read_submission(state: &AppState, request: Request) -> Result<Submission, ApiError> {
    // A declared length over the limit is refused at once, before a byte of it is read (the
    // body limit alone would read 25 MB first).
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > super::MAX_BODY_BYTES) {
        return Err(body_error(StatusCode::PAYLOAD_TOO_LARGE, String::new()));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        read_multipart(multipart).await
    } else if content_type.starts_with("application/json") || content_type.is_empty() {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| body_error(e.status(), e.body_text()))?;
        let body: ApplicationRequest = parse_json(&bytes)?;
        Ok(Submission {
            answers: body.answers,
            uploads: Vec::new(),
        })
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send application/json or multipart/form-data",
        ))
    }
}

fn body_error(status: StatusCode, detail: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "too-large",
            "Request too large",
            format!("the body is over {} bytes", super::MAX_BODY_BYTES),
        )
    } else {
        ApiError::bad_request(detail)
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not the expected JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })
}

async fn read_multipart(mut multipart: Multipart) -> Result<Submission, ApiError> {
    let mut answers = None;
    let mut uploads = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| body_error(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| body_error(e.status(), e.body_text()))?;
        if name == "answers" && filename.is_none() {
            answers = Some(parse_json::<Map<String, Value>>(&bytes)?);
        } else {
            uploads.push(Upload {
                field: name,
                filename: filename.unwrap_or_default(),
                bytes: bytes.to_vec(),
            });
        }
    }
    let answers = answers.ok_or_else(|| {
        ApiError::invalid_field(
            "/answers",
            Localized::new(
                "answers パートがありません",
                "the multipart body needs an `answers` part",
            ),
        )
    })?;
    Ok(Submission { answers, uploads })
}

/// An application's status and history. Authorize with the access code as a bearer token;
/// a wrong receipt number or code both answer 401, alike. It holds personal data, so no cache keeps
/// it (`Cache-Control: no-store`).
#[utoipa::path(get, path = "/api/v1/applications/{receipt_number}", tag = "applications",
    params(("receipt_number" = String, Path, description = "受付番号, e.g. 261123-000042-7", pattern = "^[^\\x00-\\x1f\\x7f/]+$")),
    security(("access_code" = [])),
    responses((status = 200, body = ApplicationStatus),
        (status = 401, body = crate::kit::Problem, content_type = "application/problem+json", description = "No access code, or none that opens an application under this receipt number")))]
pub(crate) async fn show_application(
    State(state): State<AppState>,
    City(city): City,
    Path(receipt_number): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = crate::kit::bearer_token(&headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Access code needed",
            "send the access code as `Authorization: Bearer CODE`",
        )
    })?;
    // The code is the credential of one application: a code that opens no application under
    // this number is refused as a credential (401), the same for an unknown number, so the
    // answer never tells which part was wrong.
    let view = match state
        .store
        .application_by_access_code(&city.id, &receipt_number, token)
        .await
    {
        Err(machi_store::StoreError::NotFound(_)) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Receipt number and access code do not match",
                "no application matches this receipt number and access code",
            ))
        }
        found => found?,
    };
    Ok(crate::kit::no_store(
        Json(ApplicationStatus::from(view)).into_response(),
    ))
}
