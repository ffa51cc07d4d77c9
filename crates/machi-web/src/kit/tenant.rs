//! Which city a request is for: the Host header picks the tenant; unknown hosts (and plain
//! `localhost`) get the first city, so a one-city deployment needs no host configuration.

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use machi_store::Tenant;

use super::problem::ApiError;
use crate::AppState;

/// The city of the current request.
pub struct City(pub Tenant);

impl FromRequestParts<AppState> for City {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
        let by_host = host.and_then(|host| {
            state
                .tenants
                .iter()
                .find(|t| t.host.as_deref() == Some(host.as_str()))
        });
        by_host
            .or_else(|| state.tenants.first())
            .cloned()
            .map(City)
            .ok_or_else(|| {
                ApiError::unavailable(
                    "no city is configured yet; run `machi serve --demo` or import a catalog",
                )
            })
    }
}
