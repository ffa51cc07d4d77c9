//! Signing in with an OpenID Connect provider (openidconnect crate): code flow with PKCE, the
//! state bound to a cookie of this browser, the nonce checked in the ID token, and the e-mail
//! from UserInfo when the ID token does not carry it.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use machi_store::residents::PendingOidc;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

use super::{set_cookie, start_session, OidcSettings, OIDC_COOKIE};
use crate::kit::{constant_time_eq, cookie, ApiError, City, PageError, SiteUrl, Ui};
use crate::AppState;

fn oidc_settings(state: &AppState) -> Result<&OidcSettings, ApiError> {
    state.oidc.as_ref().ok_or_else(|| {
        ApiError::not_found("no OpenID Connect provider is configured")
            .with_ja("この市では外部の認証サービスによるログインを使えません。")
    })
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
    .with_ja("認証サービスから正しい応答がありませんでした。時間をおいてもう一度お試しください。")
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
    base: &str,
) -> Result<(DiscoveredClient, openidconnect::reqwest::Client), ApiError> {
    let settings = oidc_settings(state)?;
    let http = http_client()?;
    let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(provider_error)?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .map_err(provider_error)?;
    let redirect =
        RedirectUrl::new(format!("{base}/account/oidc/callback")).map_err(provider_error)?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        settings.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    Ok((client, http))
}

/// Step 1: to the provider (discovery, then the authorization URL with PKCE, state and nonce).
pub(super) async fn start(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (client, _) = oidc_client(&state, &base).await?;
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
        .await?;
    let mut response = Redirect::to(url.as_str()).into_response();
    set_cookie(&mut response, &headers, OIDC_COOKIE, csrf.secret(), 600);
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct Callback {
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
pub(super) async fn callback(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    SiteUrl(base): SiteUrl,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Result<Response, PageError> {
    let refused = || {
        PageError::from(ApiError::bad_request(ui.t(
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
        .await?
        .ok_or_else(refused)?;
    let (client, http) = oidc_client(&state, &base).await?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(callback.code))
        .map_err(provider_error)?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&http)
        .await
        .map_err(provider_error)?;
    let id_token = tokens.id_token().ok_or_else(refused)?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
        .map_err(provider_error)?;
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
        .await?;
    Ok(start_session(&state, &city, &headers, &resident).await?)
}
