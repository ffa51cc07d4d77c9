//! ログイン / ログアウト. The sign-in form is protected against login CSRF by a
//! double-submit token (a cookie and a hidden field that must match), since there is no
//! session yet to hold one.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_store::audit::AuditEntry;
use machi_store::sessions::{random_token, ABSOLUTE_HOURS};
use machi_store::users::LoginOutcome;
use serde::Deserialize;
use serde_json::json;

use crate::kit::staff::SESSION_COOKIE;
use crate::kit::{
    check_origin, city_name, constant_time_eq, cookie, no_store, render, see_other, staff_cookie,
    City, PageError, Signed, Ui,
};
use crate::AppState;

const LOGIN_COOKIE: &str = "machi_login";

#[derive(Template)]
#[template(path = "staff_login.html")]
struct LoginPage {
    ui: Ui,
    city: String,
    back: String,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct NextParam {
    next: Option<String>,
}

/// Only a staff page of this site may be the target after signing in.
pub(super) fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with("/staff") && crate::kit::local_path(n).is_some())
        .unwrap_or("/staff")
        .to_string()
}

fn login_page(ui: Ui, city: &machi_store::Tenant, next: String) -> LoginPage {
    LoginPage {
        ui,
        city: city_name(ui, city),
        back: "/staff/login".into(),
        csrf: random_token(),
        next,
        email: String::new(),
        error: None,
    }
}

/// Renders the page and sets the matching double-submit cookie.
fn with_login_cookie(headers: &HeaderMap, status: StatusCode, page: &LoginPage) -> Response {
    let mut response = (status, no_store(render(page))).into_response();
    if let Some(value) = staff_cookie(headers, LOGIN_COOKIE, &page.csrf, 3600) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) async fn form(
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Query(next): Query<NextParam>,
) -> Response {
    let page = login_page(ui, &city, safe_next(next.next.as_deref()));
    with_login_cookie(&headers, StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub(super) async fn submit(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let mut page = login_page(ui, &city, safe_next(form.next.as_deref()));
    page.email = form.email.clone();
    let cookie_token = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if cookie_token.is_empty() || !constant_time_eq(cookie_token.as_bytes(), form.csrf.as_bytes()) {
        page.error = Some(
            ui.t(
                "画面の有効期限が切れました。もう一度入力してください。",
                "This page had expired. Please enter your details again.",
            )
            .into(),
        );
        return Ok(with_login_cookie(&headers, StatusCode::FORBIDDEN, &page));
    }
    let outcome = state
        .store
        .check_login(&city.id, &form.email, &form.password)
        .await?;
    let email = form.email.trim().to_lowercase();
    let (status, error, action) = match outcome {
        LoginOutcome::Accepted(user) => {
            let response = see_other(&page.next);
            return signed_in(&state, &city, &headers, &user.email, "password", response)
                .await
                .map_err(PageError::from);
        }
        // A locked account answers as a wrong password does: saying "locked" would tell
        // anyone who tries five passwords that the address is a staff account. The lock is
        // in the audit log, and the message says that failures pause signing in.
        LoginOutcome::Refused => (StatusCode::UNAUTHORIZED, refused(ui), "staff.login_refused"),
        LoginOutcome::Locked { .. } => {
            (StatusCode::UNAUTHORIZED, refused(ui), "staff.login_locked")
        }
    };
    state
        .store
        .audit(
            &city.id,
            &AuditEntry::new(&email, action, &email, json!({})),
        )
        .await?;
    page.error = Some(error);
    Ok(with_login_cookie(&headers, status, &page))
}

/// What a refused sign-in says, whatever the reason.
fn refused(ui: Ui) -> String {
    ui.t(
        "メールアドレスまたはパスワードが正しくありません。失敗が続くと、しばらくログインできなくなります。",
        "The e-mail address or password is not right. After repeated failures, signing in pauses for a while.",
    )
    .to_string()
}

/// Starts a session for someone who proved who they are (`method`: `password` or
/// `passkey`), records it, and sets the session cookie on `response`.
pub(super) async fn signed_in(
    state: &AppState,
    city: &machi_store::Tenant,
    headers: &HeaderMap,
    email: &str,
    method: &str,
    mut response: Response,
) -> Result<Response, machi_store::StoreError> {
    let (token, _csrf) = state.store.start_session(&city.id, email).await?;
    state
        .store
        .audit(
            &city.id,
            &AuditEntry::new(email, "staff.login", email, json!({ "method": method })),
        )
        .await?;
    if let Some(value) = staff_cookie(headers, SESSION_COOKIE, &token, ABSOLUTE_HOURS * 3600) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    if let Some(value) = staff_cookie(headers, LOGIN_COOKIE, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

fn cleared(headers: &HeaderMap) -> Response {
    let mut response = see_other("/staff/login");
    if let Some(value) = staff_cookie(headers, SESSION_COOKIE, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) async fn logout(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.store.end_session(&signed.session.id_sha256).await?;
    signed
        .audit(&state, "staff.logout", signed.email(), json!({}))
        .await?;
    Ok(cleared(&headers))
}

pub(super) async fn logout_everywhere(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let ended = state
        .store
        .end_all_sessions(&signed.city.id, signed.email())
        .await?;
    signed
        .audit(
            &state,
            "staff.logout_everywhere",
            signed.email(),
            json!({ "sessions": ended }),
        )
        .await?;
    Ok(cleared(&headers))
}
