//! 住民アカウント (optional): sign in by an e-mailed one-time link, or with any OpenID Connect
//! provider (the national デジタル認証アプリ speaks OIDC) via the openidconnect crate: code flow
//! with PKCE, state bound to a cookie, nonce checked in the ID token. Signed-in residents keep
//! a profile that prefills every form (once-only) and see "my applications".

mod oidc;
mod profile;

use crate::kit::resident::signed_in;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use machi_core::life_events::PERSONAL_KEYS;
use machi_core::procedures::InputKind;
use serde::Deserialize;

use crate::kit::resident::SESSION_COOKIE;
use crate::kit::{
    check_origin, city_name, constant_time_eq, cookie_header, jst_text, no_store, render, ApiError,
    City, ClientAddr, PageError, SiteUrl, Ui,
};
use crate::AppState;

const OIDC_COOKIE: &str = "machi_oidc";

/// An OpenID Connect provider residents may sign in with.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    /// None for a public client (PKCE only).
    pub client_secret: Option<String>,
    /// What the sign-in button says, e.g. "デジタル認証アプリ".
    pub name: String,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(home))
        .route("/account/login", post(send_link))
        .route("/account/link/{token}", get(link_page).post(use_link))
        .route("/account/oidc/start", get(oidc::start))
        .route("/account/oidc/callback", get(oidc::callback))
        .route("/account/logout", post(logout))
        .route("/account/profile", get(profile::show).post(profile::save))
}

fn set_cookie(response: &mut Response, headers: &HeaderMap, name: &str, value: &str, max_age: i64) {
    if let Some(value) = cookie_header(headers, name, value, "/", max_age) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

async fn start_session(
    state: &AppState,
    city: &machi_store::Tenant,
    headers: &HeaderMap,
    resident_id: &str,
) -> Result<Response, ApiError> {
    let token = state
        .store
        .start_resident_session(&city.id, resident_id)
        .await?;
    let mut response = Redirect::to("/account").into_response();
    set_cookie(
        &mut response,
        headers,
        SESSION_COOKIE,
        &token,
        machi_store::residents::SESSION_HOURS * 3600,
    );
    set_cookie(&mut response, headers, OIDC_COOKIE, "", 0);
    Ok(response)
}

struct ApplicationRow {
    receipt_number: String,
    procedure: String,
    status: String,
    submitted: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ui: Ui,
    city: String,
    back: String,
    signed_in: bool,
    email: String,
    csrf: String,
    oidc_name: Option<String>,
    profile: Vec<(String, String)>,
    applications: Vec<ApplicationRow>,
    notice: Option<String>,
    error: Option<String>,
}

fn account_page(ui: Ui, city: &machi_store::Tenant, state: &AppState) -> AccountPage {
    AccountPage {
        ui,
        city: city_name(ui, city),
        back: "/account".into(),
        signed_in: false,
        email: String::new(),
        csrf: String::new(),
        oidc_name: state.oidc.as_ref().map(|o| o.name.clone()),
        profile: Vec::new(),
        applications: Vec::new(),
        notice: None,
        error: None,
    }
}

/// The label of a personal answer key.
fn key_label(ui: Ui, key: &str) -> String {
    let (ja, en) = match key {
        "name" => ("氏名", "Full name"),
        "name-kana" => ("氏名（フリガナ）", "Name in katakana"),
        "bday" => ("生年月日", "Date of birth"),
        "postal-code" => ("郵便番号", "Postcode"),
        "street-address" => ("住所", "Address"),
        "tel" => ("電話番号", "Phone number"),
        _ => ("メールアドレス", "E-mail address"),
    };
    ui.t(ja, en).to_string()
}

fn key_input(key: &str) -> InputKind {
    match key {
        "name-kana" => InputKind::Kana,
        "bday" => InputKind::Date,
        "postal-code" => InputKind::Postcode,
        "tel" => InputKind::Phone,
        "email" => InputKind::Email,
        _ => InputKind::Text,
    }
}

async fn home(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let mut page = account_page(ui, &city, &state);
    if let Some(session) = signed_in(&state, &city, &headers).await {
        let profile = state.store.profile(&city.id, &session.resident_id).await?;
        let applications = state
            .store
            .my_applications(&city.id, &session.resident_id)
            .await?;
        let mut rows = Vec::with_capacity(applications.len());
        for app in applications {
            let name = state
                .procedures
                .get(&state.store, &city.id, &app.procedure_id)
                .await?
                .map(|r| ui.l(&r.definition.name).to_string())
                .unwrap_or_else(|| app.procedure_id.clone());
            rows.push(ApplicationRow {
                procedure: name,
                status: ui.l(&app.status.label()).to_string(),
                submitted: jst_text(app.submitted_at),
                receipt_number: app.receipt_number,
            });
        }
        page.signed_in = true;
        page.email = session.email.clone().unwrap_or_default();
        page.csrf = session.csrf_token.clone();
        page.profile = PERSONAL_KEYS
            .iter()
            .filter_map(|key| profile.get(*key).map(|v| (key_label(ui, key), v.clone())))
            .collect();
        page.applications = rows;
    }
    Ok(no_store(render(&page)))
}

#[derive(Deserialize)]
struct LinkForm {
    email: String,
}

/// Step 1: the resident types their address and a one-time link is e-mailed (the same answer
/// whether or not the address is known, so the page reveals nothing).
async fn send_link(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    SiteUrl(base): SiteUrl,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let email = machi_core::text::fold_width(form.email.trim());
    let mut page = account_page(ui, &city, &state);
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !valid {
        page.error = Some(
            ui.t(
                "メールアドレスを正しく入力してください。",
                "Enter a valid e-mail address.",
            )
            .into(),
        );
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            no_store(render(&page)),
        )
            .into_response());
    }
    let sent = state
        .store
        .send_login_link(&city.id, &email, client.as_deref(), &base, &city.name_ja)
        .await?;
    if !sent {
        page.error = Some(
            ui.t(
                "短い時間に何度も送信されました。1時間ほどおいてからお試しください。",
                "Too many links were asked for. Please try again in an hour.",
            )
            .into(),
        );
        return Ok((
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            no_store(render(&page)),
        )
            .into_response());
    }
    page.notice = Some(
        ui.t(
            "ログイン用のリンクをメールで送りました。15分以内に開いてください。",
            "We have e-mailed you a sign-in link. Open it within 15 minutes.",
        )
        .into(),
    );
    Ok(no_store(render(&page)))
}

/// Step 2: the link from the e-mail (one use, 15 minutes).
/// The page an e-mailed sign-in link opens: a button that signs in. Opening the link uses
/// nothing, so a mail scanner that follows it does not burn the resident's link.
async fn link_page(
    City(city): City,
    ui: Ui,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let action = format!("/account/link/{token}");
    Ok(no_store(render(&crate::kit::ActionPage {
        ui,
        city: city_name(ui, &city),
        back: action.clone(),
        heading: ui.t("ログイン", "Sign in").into(),
        text: ui
            .t(
                "ボタンを押すとログインします。このリンクは一度だけ使えます。",
                "Press the button to sign in. The link works once.",
            )
            .into(),
        action,
        button: ui.t("ログインする", "Sign in").into(),
    })))
}

async fn use_link(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let resident = state
        .store
        .use_login_link(&city.id, &token)
        .await?
        .ok_or_else(|| {
            PageError::from(ApiError::not_found(ui.t(
                "このリンクは使えません（期限切れか、使用済みです）。もう一度ログインしてください。",
                "This link cannot be used (it expired or was used). Please sign in again.",
            )))
        })?;
    Ok(start_session(&state, &city, &headers, &resident).await?)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    City(city): City,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    if let Some(session) = signed_in(&state, &city, &headers).await {
        if constant_time_eq(session.csrf_token.as_bytes(), form.csrf.as_bytes()) {
            state.store.end_resident_session(&session.id_sha256).await?;
        }
    }
    let mut response = Redirect::to("/account").into_response();
    set_cookie(&mut response, &headers, SESSION_COOKIE, "", 0);
    Ok(response)
}
