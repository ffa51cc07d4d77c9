//! 住民 (resident) sessions: who is signed in on a request, the page asking to sign in, and
//! the saved profile as prefill for a form (once-only).

use axum::http::HeaderMap;
use machi_store::residents::ResidentSession;

use super::i18n::{cookie, Ui};
use super::page::PageError;
use super::problem::ApiError;
use crate::AppState;

/// The resident session cookie; only its SHA-256 is stored.
pub(crate) const SESSION_COOKIE: &str = "machi_resident";

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

/// The signed-in resident, or the page asking them to sign in.
pub(crate) async fn require_resident(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    headers: &HeaderMap,
) -> Result<ResidentSession, PageError> {
    signed_in(state, city, headers).await.ok_or_else(|| {
        PageError::from(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "signed-out",
            "Signed out",
            ui.t("ログインしてください。", "Please sign in."),
        ))
    })
}

/// The profile as prefill values for a form: each personal question gets the saved answer.
pub(crate) async fn prefill_pairs(
    state: &AppState,
    city: &machi_store::Tenant,
    headers: &HeaderMap,
    form: &machi_core::procedures::CompiledForm,
) -> Vec<(String, String)> {
    match signed_in_profile(state, city, headers).await {
        Some(profile) => profile_pairs(&profile, form),
        None => Vec::new(),
    }
}

/// The signed-in resident's saved profile (with the e-mail they signed in with), if anyone is
/// signed in: read once, for every form it fills.
pub(crate) async fn signed_in_profile(
    state: &AppState,
    city: &machi_store::Tenant,
    headers: &HeaderMap,
) -> Option<machi_store::residents::Profile> {
    let session = signed_in(state, city, headers).await?;
    let mut profile = state
        .store
        .profile(&city.id, &session.resident_id)
        .await
        .unwrap_or_default();
    if let Some(email) = session.email {
        profile.entry("email".into()).or_insert(email);
    }
    Some(profile)
}

/// `profile` as prefill values for `form`'s personal questions.
pub(crate) fn profile_pairs(
    profile: &machi_store::residents::Profile,
    form: &machi_core::procedures::CompiledForm,
) -> Vec<(String, String)> {
    form.fields()
        .filter_map(|(name, _)| {
            let key = machi_core::life_events::personal_key(form, name)?;
            profile
                .get(key)
                .map(|value| (name.to_string(), value.clone()))
        })
        .collect()
}
