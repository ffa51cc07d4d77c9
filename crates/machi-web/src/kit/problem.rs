//! Errors as RFC 9457 problem details (`application/problem+json`) for the API, and as a
//! friendly page for browsers. Internal causes go to the log, never to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use machi_core::procedures::{FieldError, Localized};
use machi_store::{IntakeError, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// A problem+json body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field errors, each with a JSON pointer into the request and messages in ja and en.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldErrorDoc>)]
    pub errors: Vec<FieldError>,
}

/// One wrong field (documentation shape of `FieldError`).
#[derive(ToSchema)]
#[allow(dead_code)] // Only describes the JSON for OpenAPI; never built.
pub struct FieldErrorDoc {
    /// JSON pointer to the wrong value, e.g. `/answers/applicant_phone`.
    pointer: String,
    field: String,
    message: super::i18n::Text,
}

/// An error a handler returns; becomes problem+json (API) or an error page (pages).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: an `ApiError` travels in most handlers' `Result`.
    pub problem: Box<Problem>,
    /// The detail in Japanese for a Japanese page, where `problem.detail` (what API clients
    /// read) is English.
    pub detail_ja: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        let problem = Problem {
            kind: format!("https://machi.example/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        };
        Self {
            status,
            problem: Box::new(problem),
            detail_ja: None,
        }
    }

    /// The same error, said in Japanese on a Japanese page.
    pub fn with_ja(mut self, detail: impl Into<String>) -> Self {
        self.detail_ja = Some(detail.into());
        self
    }

    /// The detail as a page in `en` or Japanese shows it.
    pub fn detail_for(&self, en: bool) -> &str {
        match (&self.detail_ja, en) {
            (Some(ja), false) => ja,
            _ => &self.problem.detail,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
    }

    /// Logs the cause and answers with a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::internal_response()
    }

    /// A 500 for an error whose whole source chain goes to the log (`a: b: c`), and none of it
    /// to the client.
    pub fn internal_error(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(cause = %source_chain(error), "internal error");
        Self::internal_response()
    }

    fn internal_response() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "something went wrong on our side; please try again later",
        )
    }

    /// 422 with one entry per wrong field; pointers are prefixed with `prefix` (e.g. `/answers`).
    pub fn invalid_fields(errors: Vec<FieldError>, prefix: &str) -> Self {
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-answers",
            "Some answers need correcting",
            format!("{} answer(s) need correcting", errors.len()),
        );
        error.problem.errors = errors
            .into_iter()
            .map(|e| FieldError {
                pointer: format!("{prefix}{}", e.pointer),
                ..e
            })
            .collect();
        error
    }

    /// A single wrong field.
    pub fn invalid_field(pointer: &str, message: Localized) -> Self {
        let field = pointer.rsplit('/').next().unwrap_or_default();
        let mut error = Self::invalid_fields(vec![FieldError::new(field, message)], "");
        if let Some(first) = error.problem.errors.first_mut() {
            first.pointer = pointer.to_string();
        }
        error
    }
}

/// An error and every source under it, outermost first: `a: b: c`.
pub(crate) fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        // Many errors repeat their source in their own message; say each thing once.
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(text) => Self::not_found(text.en).with_ja(text.ja),
            StoreError::Invalid(text) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Invalid",
                text.en,
            )
            .with_ja(text.ja),
            StoreError::Conflict(text) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Conflict", text.en).with_ja(text.ja)
            }
            unavailable if unavailable.is_unavailable() => {
                tracing::warn!(cause = %source_chain(&unavailable), "storage unavailable");
                Self::unavailable("the service is busy or restarting; please try again shortly")
                    .with_ja(
                    "ただいま混み合っているか再起動中です。少し待ってからもう一度お試しください。",
                )
            }
            other => Self::internal_error(&other),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::KeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was already used for a different request; use a new key",
            ),
            IntakeError::Store(store) => store.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A search parameter as given, or 422 when it has a control character (none is ever typed;
/// the API's schema says so with a pattern).
pub(crate) fn without_control_chars(
    pointer: &str,
    value: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match value {
        Some(text) if machi_core::text::has_control_chars(text, false) => {
            Err(ApiError::invalid_field(
                pointer,
                machi_core::procedures::Localized::new(
                    "使用できない文字（制御文字）が含まれています",
                    "contains characters that cannot be used (control characters)",
                ),
            ))
        }
        other => Ok(other.map(str::to_string)),
    }
}

/// The `Idempotency-Key` header of a request that creates something: 1–255 visible ASCII
/// characters, or none.
pub(crate) fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).unwrap_or_default();
    let valid = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(Some(key.to_string()))
    } else {
        Err(ApiError::bad_request(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_store_error_has_its_status_and_internal_errors_hide_their_cause() {
        let kinds = [
            (
                StoreError::not_found("ない", "missing"),
                StatusCode::NOT_FOUND,
            ),
            (
                StoreError::invalid("不正", "bad"),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                StoreError::conflict("重複", "duplicate"),
                StatusCode::CONFLICT,
            ),
            (StoreError::IntakeClosed, StatusCode::SERVICE_UNAVAILABLE),
            (
                StoreError::Database(sqlx_pool_timeout()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ];
        for (error, status) in kinds {
            assert_eq!(ApiError::from(error).status, status);
        }
        let hidden: ApiError = StoreError::Corrupt("secret table detail".into()).into();
        assert_eq!(hidden.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!hidden.problem.detail.contains("secret"));
    }

    fn sqlx_pool_timeout() -> sqlx::Error {
        sqlx::Error::PoolTimedOut
    }

    #[test]
    fn a_japanese_page_shows_the_japanese_detail_and_the_api_the_english_one() {
        let error: ApiError =
            StoreError::conflict("名前は使われています。", "the name is taken").into();
        assert_eq!(error.problem.detail, "the name is taken");
        assert_eq!(error.detail_for(false), "名前は使われています。");
        assert_eq!(error.detail_for(true), "the name is taken");
        let english_only = ApiError::bad_request("plain");
        assert_eq!(english_only.detail_for(false), "plain");
    }

    #[test]
    fn the_source_chain_names_each_cause_once() {
        let io = std::io::Error::other("disk full");
        let store = StoreError::Io(io);
        assert_eq!(source_chain(&store), "file storage error: disk full");
        #[derive(Debug, thiserror::Error)]
        #[error("saving the notice")]
        struct Outer(#[source] StoreError);
        let outer = Outer(StoreError::Io(std::io::Error::other("disk full")));
        assert_eq!(
            source_chain(&outer),
            "saving the notice: file storage error: disk full"
        );
    }

    #[test]
    fn field_errors_get_the_request_prefix_on_their_pointer() {
        let error = ApiError::invalid_fields(
            vec![FieldError::new("phone", Localized::new("a", "b"))],
            "/answers",
        );
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.problem.errors[0].pointer, "/answers/phone");
    }

    #[test]
    fn problems_are_served_as_problem_json() {
        let response = ApiError::not_found("x").into_response();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
