//! Which city a request is for: the Host header picks the tenant; unknown hosts (and plain
//! `localhost`) get the first city, so a one-city deployment needs no host configuration.

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use machi_store::Tenant;

use super::problem::ApiError;
use crate::AppState;

/// The city of the current request.
pub struct City(pub Tenant);

/// The city a Host header names, else the first city (`None` only while no city exists).
pub(crate) fn city_for_host<'a>(
    state: &'a AppState,
    host: Option<&HeaderValue>,
) -> Option<&'a Tenant> {
    let host = host
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    host.and_then(|host| {
        state
            .tenants
            .iter()
            .find(|t| t.host.as_deref() == Some(host.as_str()))
    })
    .or_else(|| state.tenants.first())
}

impl FromRequestParts<AppState> for City {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        city_for_host(state, parts.headers.get(HOST))
            .cloned()
            .map(City)
            .ok_or_else(|| {
                ApiError::unavailable(
                    "no city is configured yet; run `machi serve --demo` or import a catalog",
                )
            })
    }
}
