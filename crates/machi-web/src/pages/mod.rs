//! Resident pages: server-rendered HTML that works without JavaScript, mobile first, following
//! the GOV.UK Design System patterns (one thing per page, error summary linked to each field).

pub(crate) mod apply;
mod catalog;
mod correct;
pub(crate) mod form_view;
mod life_events;
pub(crate) mod prefill;
pub(crate) mod status;

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::i18n::Ui;
use crate::problem::ApiError;
use crate::tenant::City;
use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(catalog::home))
        .route("/procedures", get(catalog::catalog))
        .route("/procedures/{id}", get(catalog::procedure))
        .route(
            "/procedures/{id}/apply",
            get(apply::show_form).post(apply::post_form),
        )
        .route(
            "/procedures/{id}/submit",
            axum::routing::post(apply::submit),
        )
        .route(
            "/procedures/{id}/prefill",
            axum::routing::post(prefill::create),
        )
        .route("/life-events", get(life_events::list))
        .route(
            "/life-events/{id}",
            get(life_events::questions).post(life_events::submit),
        )
        .route("/life-events/{id}/form", get(life_events::form))
        .route("/status", get(status::show).post(status::lookup))
        .route("/status/correct", axum::routing::post(correct::correct))
        .route("/lang/{code}", get(switch_language))
        .route("/static/machi.css", get(stylesheet))
        .route("/static/passkey.js", get(passkey_script))
        .fallback(not_found)
}

/// Renders a template, or the error page if rendering fails.
pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A file to save (CSV, Excel) under an ASCII file name.
pub(crate) fn attachment(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A stored file to download under its own name (RFC 5987 `filename*`, with an ASCII
/// fallback for old clients), of its own type and never sniffed by the browser.
pub(crate) fn named_download(bytes: Vec<u8>, media_type: &str, filename: &str) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_fallback(filename),
        crate::staff::application::percent_encode(filename)
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The plain `filename=` for old clients: ASCII letters, digits and `-._` kept, the rest `_`.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Percent-encodes all but ASCII letters, digits and the bytes in `keep` (RFC 3986 unreserved
/// characters are `-._~`; a URL path segment may keep more).
pub(crate) fn percent_encode_except(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A page answer that must not be cached (it shows personal data or a secret).
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ui: Ui,
    city: String,
    back: String,
    title: String,
    detail: String,
    request_id: String,
}

/// An error shown to a person as a page of their city, with the request id to quote (boxed:
/// it travels in every page handler's `Result`).
pub(crate) struct PageError(Box<PageErrorParts>);

struct PageErrorParts {
    ui: Ui,
    city: String,
    error: ApiError,
}

impl PageError {
    pub(crate) fn new(ui: Ui, city: &machi_store::Tenant, error: impl Into<ApiError>) -> Self {
        Self(Box::new(PageErrorParts {
            ui,
            city: city_name(ui, city),
            error: error.into(),
        }))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let this = *self.0;
        let (title, detail) = page_error_text(this.ui, &this.error);
        let page = ErrorPage {
            ui: this.ui,
            city: this.city,
            back: "/".into(),
            title,
            detail,
            request_id: crate::ops::current_request_id(),
        };
        (this.error.status, render(&page)).into_response()
    }
}

fn page_error_text(ui: Ui, error: &ApiError) -> (String, String) {
    let (ja, en) = match error.status {
        StatusCode::NOT_FOUND => ("ページが見つかりません", "Page not found"),
        StatusCode::PAYLOAD_TOO_LARGE => ("ファイルが大きすぎます", "The upload is too large"),
        s if s.is_client_error() => ("送信内容を確認してください", "Please check what you sent"),
        _ => (
            "ただいま処理できません",
            "Sorry, there is a problem with the service",
        ),
    };
    let detail = if error.status.is_server_error() {
        ui.t(
            "時間をおいて、もう一度お試しください。",
            "Please try again later.",
        )
        .to_string()
    } else {
        error.problem.detail.clone()
    };
    (ui.t(ja, en).to_string(), detail)
}

async fn not_found(ui: Ui, City(city): City) -> PageError {
    PageError::new(
        ui,
        &city,
        ApiError::not_found(ui.t(
            "お探しのページは見つかりませんでした。",
            "The page you asked for does not exist.",
        )),
    )
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// Sets the language cookie and returns to the page the visitor came from (same site only).
async fn switch_language(Path(code): Path<String>, Query(back): Query<Back>) -> Response {
    let lang = if code == "en" { "en" } else { "ja" };
    let target = back
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let cookie = format!("lang={lang}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly");
    let mut response = Redirect::to(&target).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn stylesheet() -> Response {
    let css = include_str!("../../static/machi.css");
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ),
    ];
    (headers, css).into_response()
}

/// The staff console's passkey script (a file, since the CSP allows no inline script).
async fn passkey_script() -> Response {
    let js = include_str!("../../static/passkey.js");
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ),
    ];
    (headers, js).into_response()
}

/// The city's display name in the page language.
pub(crate) fn city_name(ui: Ui, city: &machi_store::Tenant) -> String {
    ui.name(&city.name_ja, &city.name_en).to_string()
}

/// Shows a stored UTC time in JST, as residents read it.
pub(crate) fn jst(time: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| {
            let jst =
                t.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap_or(*t.offset()));
            format!(
                "{} {}",
                machi_core::wareki::format_wareki(jst.date_naive()),
                jst.format("%H:%M")
            )
        })
        .unwrap_or_else(|_| time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_fall_back_to_ascii_for_old_clients() {
        assert_eq!(ascii_fallback("避難所 list.pdf"), "____list.pdf");
        assert_eq!(
            percent_encode_except("避 a(1)", b"-._~()"),
            "%E9%81%BF%20a(1)"
        );
    }
}
