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
    pub problem: Problem,
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
        Self { status, problem }
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

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(detail) => Self::not_found(detail),
            StoreError::Conflict(detail) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            }
            StoreError::IntakeClosed => {
                Self::unavailable("the server is shutting down; please retry")
            }
            other => Self::internal(other),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_conflicts_become_409_and_internal_errors_hide_their_cause() {
        let conflict: ApiError = StoreError::Conflict("duplicate".into()).into();
        assert_eq!(conflict.status, StatusCode::CONFLICT);
        let hidden: ApiError = StoreError::Corrupt("secret table detail".into()).into();
        assert_eq!(hidden.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!hidden.problem.detail.contains("secret"));
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
