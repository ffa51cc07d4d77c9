//! Answers as pages: rendering a template, the error page of a person's city (with the request id
//! to quote), redirects after a form post, and answers that must not be cached.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::i18n::Ui;
use super::problem::ApiError;
use super::tenant::city_for_host;
use crate::AppState;

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

/// An error shown to a person as a page of their city, with the request id to quote. A handler
/// only says what went wrong (`?` turns any store or API error into one); the page itself is
/// drawn by [`render_error_pages`], the one layer that knows the request's city and language.
pub(crate) struct PageError(Box<ApiError>);

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(error: E) -> Self {
        Self(Box::new(error.into()))
    }
}

/// The error a page handler gave, waiting in the response for [`render_error_pages`].
#[derive(Clone)]
struct ErrorForPage(ApiError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let error = *self.0;
        let mut response = error.status.into_response();
        response.extensions_mut().insert(ErrorForPage(error));
        response
    }
}

/// The status of a form page drawn again: 422 when it lists errors, 200 when it does not.
pub(crate) fn form_status<T>(errors: &[T]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Draws the error page of every page handler's error, in the city and language of the request
/// (a city no host names gets the first city's name, as everywhere).
pub(crate) async fn render_error_pages(
    State(state): State<AppState>,
    ui: Ui,
    request: Request,
    next: Next,
) -> Response {
    // Only the Host header is kept: the city is looked up when a page is drawn, not for
    // every request.
    let host = request.headers().get(header::HOST).cloned();
    let is_page = !request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let error = match response.extensions_mut().remove::<ErrorForPage>() {
        Some(ErrorForPage(error)) => error,
        None if is_page && is_bare_rejection(&response) => {
            let (parts, body) = response.into_parts();
            let error = rejection_error(parts.status, body).await;
            response = Response::from_parts(parts, axum::body::Body::empty());
            error
        }
        None => return response,
    };
    let city = city_for_host(&state, host.as_ref())
        .map(|city| city_name(ui, city))
        .unwrap_or_default();
    let (title, detail) = page_error_text(ui, &error);
    let page = ErrorPage {
        ui,
        city,
        back: "/".into(),
        title,
        detail,
        request_id: super::ops::current_request_id(),
    };
    let mut page_response = (error.status, render(&page)).into_response();
    // Headers the handler or an inner layer set (no-store on staff pages) stay.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page_response
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    page_response
}

/// An extractor's own answer (axum's rejections are plain text: "Failed to deserialize form
/// body: missing field `to`"), which a page must never show as it is.
fn is_bare_rejection(response: &Response) -> bool {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    plain && response.status().is_client_error()
}

/// The page error for a rejected request: what was wrong, in words, with the reason given.
async fn rejection_error(status: StatusCode, body: axum::body::Body) -> ApiError {
    let reason = axum::body::to_bytes(body, 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let (ja, en) = if status == StatusCode::PAYLOAD_TOO_LARGE {
        (
            "送信された内容が大きすぎます。ファイルを小さくして、もう一度お試しください。",
            "What was sent is too large. Make the file smaller and try again.",
        )
    } else {
        (
            "送信された内容を読み取れませんでした。選んでいない項目がないか確かめて、画面を開き直してもう一度お試しください。",
            "What was sent could not be read. Check that nothing is missing, open the page again and retry.",
        )
    };
    let detail = |text: &str| {
        if reason.is_empty() {
            text.to_string()
        } else {
            format!("{text} ({reason})")
        }
    };
    ApiError::new(status, "bad-form", "Bad request", detail(en)).with_ja(detail(ja))
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
    let detail = match (&error.detail_ja, error.status) {
        (Some(_), _) => error.detail_for(ui.en).to_string(),
        (None, status) if status.is_server_error() => ui
            .t(
                "時間をおいて、もう一度お試しください。",
                "Please try again later.",
            )
            .to_string(),
        (None, _) => error.problem.detail.clone(),
    };
    (ui.t(ja, en).to_string(), detail)
}

/// The city's display name in the page language.
pub(crate) fn city_name(ui: Ui, city: &machi_store::Tenant) -> String {
    ui.name(&city.name_ja, &city.name_en).to_string()
}

/// A page whose one button does what a link in an e-mail is for (confirm a subscription,
/// sign in …): the link itself changes nothing, so a mail scanner that follows links uses
/// nothing up.
#[derive(Template)]
#[template(path = "action.html")]
pub(crate) struct ActionPage {
    pub ui: Ui,
    pub city: String,
    pub back: String,
    pub heading: String,
    pub text: String,
    pub action: String,
    pub button: String,
}

/// A redirect after a successful form post (Post/Redirect/Get). A target that cannot be a
/// header (a line break in it) goes to the home page rather than failing the request.
pub(crate) fn see_other(to: &str) -> Response {
    match axum::http::HeaderValue::from_str(to) {
        Ok(_) => Redirect::to(to).into_response(),
        Err(_) => Redirect::to("/").into_response(),
    }
}

/// `target` if it is a path on this site, else `None`. Browsers read `/\evil.example` and
/// `/<tab>/evil.example` as `//evil.example`, another site, so a backslash, a control
/// character or a leading `//` anywhere near the start refuses it; so does anything with a
/// scheme or a line break.
pub(crate) fn local_path(target: &str) -> Option<&str> {
    let mut chars = target.chars();
    let local = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !target.chars().any(|c| c.is_control() || c == '\\');
    local.then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_redirect_targets() {
        for local in ["/", "/notices?category=防災", "/staff/inbox"] {
            assert_eq!(local_path(local), Some(local));
        }
        for away in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/x\r\nSet-Cookie: a=b",
            "https://evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(local_path(away), None, "{away:?}");
        }
        assert_eq!(see_other("/a\r\nb").headers()["location"], "/");
    }
}
