//! 住民アカウント (optional): sign in by an e-mailed one-time link, or with any OpenID Connect
//! provider (the national デジタル認証アプリ speaks OIDC) via the openidconnect crate: code flow
//! with PKCE, state bound to a cookie, nonce checked in the ID token. Signed-in residents keep
//! a profile that prefills every form (once-only) and see "my applications".

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use machi_core::life_events::PERSONAL_KEYS;
use machi_core::procedures::{normalise_typed, InputKind, Localized};
use machi_store::residents::{PendingOidc, Profile, ResidentSession};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

use crate::i18n::{cookie, Ui};
use crate::pages::{city_name, jst, no_store, render, PageError};
use crate::payments::base_url;
use crate::problem::ApiError;
use crate::staff::{check_origin, constant_time_eq};
use crate::tenant::City;
use crate::AppState;

const SESSION_COOKIE: &str = "machi_resident";
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
        .route("/account/link/{token}", get(use_link))
        .route("/account/oidc/start", get(oidc_start))
        .route("/account/oidc/callback", get(oidc_callback))
        .route("/account/logout", post(logout))
        .route("/account/profile", get(profile_form).post(save_profile))
        .route("/account/applications/{receipt}", get(my_application))
}

/// The resident signed in on this request, if any.
pub(crate) async fn signed_in(
    state: &AppState,
    city: &machi_store::Tenant,
    headers: &HeaderMap,
) -> Option<ResidentSession> {
    let token = cookie(headers, SESSION_COOKIE)?;
    state
        .store
        .resident_session(&city.id, token)
        .await
        .ok()
        .flatten()
}

fn set_cookie(response: &mut Response, headers: &HeaderMap, name: &str, value: &str, max_age: i64) {
    let secure = base_url(headers).starts_with("https");
    let text = format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&text) {
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
    let fail = |e: ApiError| PageError::new(ui, &city, e);
    let mut page = account_page(ui, &city, &state);
    if let Some(session) = signed_in(&state, &city, &headers).await {
        let profile = state
            .store
            .profile(&city.id, &session.resident_id)
            .await
            .map_err(|e| fail(e.into()))?;
        let applications = state
            .store
            .my_applications(&city.id, &session.resident_id)
            .await
            .map_err(|e| fail(e.into()))?;
        let mut rows = Vec::with_capacity(applications.len());
        for app in applications {
            let name = state
                .procedures
                .get(&state.store, &city.id, &app.procedure_id)
                .await
                .map_err(&fail)?
                .map(|r| ui.l(&r.definition.name).to_string())
                .unwrap_or_else(|| app.procedure_id.clone());
            rows.push(ApplicationRow {
                procedure: name,
                status: ui.l(&app.status.label()).to_string(),
                submitted: jst(&app.submitted_at),
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
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    let fail = |e: ApiError| PageError::new(ui, &city, e);
    check_origin(&headers).map_err(&fail)?;
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
        .send_login_link(&city.id, &email, &base_url(&headers), &city.name_ja)
        .await
        .map_err(|e| fail(e.into()))?;
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
async fn use_link(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let fail = |e: ApiError| PageError::new(ui, &city, e);
    let resident = state
        .store
        .use_login_link(&city.id, &token)
        .await
        .map_err(|e| fail(e.into()))?
        .ok_or_else(|| {
            fail(ApiError::not_found(ui.t(
                "このリンクは使えません（期限切れか、使用済みです）。もう一度ログインしてください。",
                "This link cannot be used (it expired or was used). Please sign in again.",
            )))
        })?;
    start_session(&state, &city, &headers, &resident)
        .await
        .map_err(&fail)
}

fn oidc_settings(state: &AppState) -> Result<&OidcSettings, ApiError> {
    state
        .oidc
        .as_ref()
        .ok_or_else(|| ApiError::not_found("no OpenID Connect provider is configured"))
}

fn http_client() -> Result<openidconnect::reqwest::Client, ApiError> {
    // No redirects: the OIDC spec forbids following them on the token endpoint (SSRF).
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .map_err(ApiError::internal)
}

fn provider_error(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%error, "OpenID Connect provider error");
    ApiError::new(
        axum::http::StatusCode::BAD_GATEWAY,
        "identity-provider",
        "Identity provider error",
        "the sign-in service did not answer as expected; please try again later",
    )
}

/// The client as `from_provider_metadata` makes it: auth and user-info endpoints from discovery.
type DiscoveredClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Discovers the provider and makes the client that redirects back to this site.
async fn oidc_client(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(DiscoveredClient, openidconnect::reqwest::Client), ApiError> {
    let settings = oidc_settings(state)?;
    let http = http_client()?;
    let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(provider_error)?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .map_err(provider_error)?;
    let redirect = RedirectUrl::new(format!("{}/account/oidc/callback", base_url(headers)))
        .map_err(provider_error)?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        settings.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    Ok((client, http))
}

/// Step 1: to the provider (discovery, then the authorization URL with PKCE, state and nonce).
async fn oidc_start(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let fail = |e: ApiError| PageError::new(ui, &city, e);
    let (client, _) = oidc_client(&state, &headers).await.map_err(&fail)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    state
        .store
        .begin_oidc(
            &city.id,
            csrf.secret(),
            &PendingOidc {
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        )
        .await
        .map_err(|e| fail(e.into()))?;
    let mut response = Redirect::to(url.as_str()).into_response();
    set_cookie(&mut response, &headers, OIDC_COOKIE, csrf.secret(), 600);
    Ok(response)
}

#[derive(Deserialize)]
struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: String,
}

/// Step 2: back from the provider. The state must match this browser's cookie; the code is
/// exchanged with the PKCE verifier; the ID token's signature, issuer, audience, expiry and
/// nonce are checked by openidconnect.
async fn oidc_callback(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Result<Response, PageError> {
    let fail = |e: ApiError| PageError::new(ui, &city, e);
    let refused = || {
        fail(ApiError::bad_request(ui.t(
            "ログインを完了できませんでした。もう一度お試しください。",
            "Signing in could not be completed. Please try again.",
        )))
    };
    if !callback.error.is_empty() {
        return Err(refused());
    }
    let bound = cookie(&headers, OIDC_COOKIE).unwrap_or_default();
    if bound.is_empty() || !constant_time_eq(bound.as_bytes(), callback.state.as_bytes()) {
        return Err(refused());
    }
    let pending = state
        .store
        .finish_oidc(&city.id, &callback.state)
        .await
        .map_err(|e| fail(e.into()))?
        .ok_or_else(refused)?;
    let (client, http) = oidc_client(&state, &headers).await.map_err(&fail)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(callback.code))
        .map_err(|e| fail(provider_error(e)))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&http)
        .await
        .map_err(|e| fail(provider_error(e)))?;
    let id_token = tokens.id_token().ok_or_else(refused)?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
        .map_err(|e| fail(provider_error(e)))?;
    let mut email = claims
        .email()
        .filter(|_| claims.email_verified() == Some(true))
        .map(|e| e.as_str().to_string());
    // Many providers put the e-mail only in UserInfo (the ID token carries just `sub`).
    if email.is_none() {
        let user_info: Option<openidconnect::core::CoreUserInfoClaims> = match client.user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        ) {
            Ok(request) => request.request_async(&http).await.ok(),
            Err(_) => None,
        };
        email = user_info.and_then(|info| {
            info.email()
                .filter(|_| info.email_verified() == Some(true))
                .map(|e| e.as_str().to_string())
        });
    }
    let resident = state
        .store
        .resident_by_identity(
            &city.id,
            claims.issuer().as_str(),
            claims.subject().as_str(),
            email.as_deref(),
        )
        .await
        .map_err(|e| fail(e.into()))?;
    start_session(&state, &city, &headers, &resident)
        .await
        .map_err(&fail)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let fail = |e: ApiError| PageError::new(ui, &city, e);
    check_origin(&headers).map_err(&fail)?;
    if let Some(session) = signed_in(&state, &city, &headers).await {
        if constant_time_eq(session.csrf_token.as_bytes(), form.csrf.as_bytes()) {
            state
                .store
                .end_resident_session(&session.id_sha256)
                .await
                .map_err(|e| fail(e.into()))?;
        }
    }
    let mut response = Redirect::to("/account").into_response();
    set_cookie(&mut response, &headers, SESSION_COOKIE, "", 0);
    Ok(response)
}

#[derive(Template)]
#[template(path = "account_profile.html")]
struct ProfilePage {
    ui: Ui,
    city: String,
    back: String,
    csrf: String,
    /// (key, label, value, error)
    fields: Vec<(String, String, String, Option<String>)>,
    errors: Vec<(String, String)>,
}

async fn require_resident(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    headers: &HeaderMap,
) -> Result<ResidentSession, PageError> {
    signed_in(state, city, headers).await.ok_or_else(|| {
        PageError::new(
            ui,
            city,
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "signed-out",
                "Signed out",
                ui.t("ログインしてください。", "Please sign in."),
            ),
        )
    })
}

fn profile_page(
    ui: Ui,
    city: &machi_store::Tenant,
    csrf: &str,
    values: &Profile,
    errors: &[(String, Localized)],
) -> ProfilePage {
    ProfilePage {
        ui,
        city: city_name(ui, city),
        back: "/account/profile".into(),
        csrf: csrf.to_string(),
        fields: PERSONAL_KEYS
            .iter()
            .map(|key| {
                (
                    key.to_string(),
                    key_label(ui, key),
                    values.get(*key).cloned().unwrap_or_default(),
                    errors
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, m)| ui.l(m).to_string()),
                )
            })
            .collect(),
        errors: errors
            .iter()
            .map(|(key, message)| {
                (
                    format!("p-{key}"),
                    format!("{}: {}", key_label(ui, key), ui.l(message)),
                )
            })
            .collect(),
    }
}

async fn profile_form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = require_resident(&state, &city, ui, &headers).await?;
    let mut profile = state
        .store
        .profile(&city.id, &session.resident_id)
        .await
        .map_err(|e| PageError::new(ui, &city, e))?;
    if let Some(email) = &session.email {
        profile
            .entry("email".into())
            .or_insert_with(|| email.clone());
    }
    Ok(no_store(render(&profile_page(
        ui,
        &city,
        &session.csrf_token,
        &profile,
        &[],
    ))))
}

async fn save_profile(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fail = |e: ApiError| PageError::new(ui, &city, e);
    check_origin(&headers).map_err(&fail)?;
    let session = require_resident(&state, &city, ui, &headers).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    if !constant_time_eq(session.csrf_token.as_bytes(), field("csrf").as_bytes()) {
        return Err(fail(ApiError::forbidden(
            "the form's security token is missing or out of date; reload the page and try again",
        )));
    }
    let mut profile = Profile::new();
    let mut errors = Vec::new();
    for key in PERSONAL_KEYS {
        let typed = field(key);
        if typed.chars().count() > 200 {
            errors.push((key.to_string(), Localized::new("長すぎます", "is too long")));
            continue;
        }
        match normalise_typed(key_input(key), typed) {
            Ok(Some(value)) => {
                profile.insert(key.to_string(), value);
            }
            Ok(None) => {}
            Err(message) => errors.push((key.to_string(), message)),
        }
    }
    if !errors.is_empty() {
        let typed: Profile = PERSONAL_KEYS
            .iter()
            .map(|k| (k.to_string(), field(k).to_string()))
            .collect();
        let page = profile_page(ui, &city, &session.csrf_token, &typed, &errors);
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            no_store(render(&page)),
        )
            .into_response());
    }
    state
        .store
        .save_profile(&city.id, &session.resident_id, &profile)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(Redirect::to("/account").into_response())
}

/// One of my applications, without the access code (I am signed in).
async fn my_application(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Path(receipt): Path<String>,
) -> Result<Response, PageError> {
    let session = require_resident(&state, &city, ui, &headers).await?;
    let view = state
        .store
        .my_application(&city.id, &session.resident_id, &receipt)
        .await
        .map_err(|e| PageError::new(ui, &city, e))?
        .ok_or_else(|| {
            PageError::new(
                ui,
                &city,
                ApiError::not_found(
                    ui.t("この申請はありません。", "There is no such application."),
                ),
            )
        })?;
    crate::pages::status::render_found(&state, &city, ui, view, "").await
}

/// The profile as prefill values for a form: each personal question gets the saved answer.
pub(crate) async fn prefill_pairs(
    state: &AppState,
    city: &machi_store::Tenant,
    headers: &HeaderMap,
    form: &machi_core::procedures::CompiledForm,
) -> Vec<(String, String)> {
    let Some(session) = signed_in(state, city, headers).await else {
        return Vec::new();
    };
    let mut profile = state
        .store
        .profile(&city.id, &session.resident_id)
        .await
        .unwrap_or_default();
    if let Some(email) = session.email {
        profile.entry("email".into()).or_insert(email);
    }
    form.fields()
        .filter_map(|(name, _)| {
            let key = machi_core::life_events::personal_key(form, name)?;
            profile
                .get(key)
                .map(|value| (name.to_string(), value.clone()))
        })
        .collect()
}
