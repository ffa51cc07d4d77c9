//! What every page of the site shares: the language switch, the stylesheet, the passkey,
//! postcode and answer-desk scripts, and the page for an address that does not exist.

use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::i18n::Ui;
use super::page::{local_path, PageError};
use super::problem::ApiError;
use crate::AppState;

/// `/lang/{code}` and the static files.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/lang/{code}", get(switch_language))
        .route("/static/machi.css", get(stylesheet))
        .route("/static/passkey.js", get(passkey_script))
        .route("/static/postcode.js", get(postcode_script))
        .route(
            "/static/booking-reminders.js",
            get(booking_reminders_script),
        )
        .route("/static/push.js", get(push_script))
        .route("/static/ask.js", get(ask_script))
}

/// The answer for an address no room serves.
pub(crate) async fn not_found(ui: Ui) -> PageError {
    PageError::from(ApiError::not_found(ui.t(
        "お探しのページは見つかりませんでした。",
        "The page you asked for does not exist.",
    )))
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
        .filter(|b| local_path(b).is_some())
        .unwrap_or_else(|| "/".into());
    let cookie = format!("lang={lang}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly");
    let mut response = super::page::see_other(&target);
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
    javascript(include_str!("../../static/passkey.js"))
}

/// The forms' postcode lookup (郵便番号 → 住所), which the forms also do without it.
async fn postcode_script() -> Response {
    javascript(include_str!("../../static/postcode.js"))
}

/// A booking's reminder in this browser's notifications (the booking's page works without it:
/// the reminder comes by e-mail).
async fn booking_reminders_script() -> Response {
    javascript(include_str!("../../static/booking-reminders.js"))
}

/// Subscribing this browser to push messages, for the scripts that offer notifications.
async fn push_script() -> Response {
    javascript(include_str!("../../static/push.js"))
}

/// The answer desk as a chat (`/ask`), which also works without it.
async fn ask_script() -> Response {
    javascript(include_str!("../../static/ask.js"))
}

fn javascript(js: &'static str) -> Response {
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
