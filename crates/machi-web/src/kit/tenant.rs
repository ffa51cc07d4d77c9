//! Which city a request is for: the Host header picks the tenant. A city with a host of its own
//! answers that host; the host of `--public-url` (and, when that is this machine, any name of
//! this machine) gets the first city without one, so a one-city deployment needs no host
//! configuration. Any other host is answered 421 for no city.

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
    let host = host.and_then(|h| h.to_str().ok()).map(host_name)?;
    if let Some(city) = state
        .tenants
        .iter()
        .find(|t| t.host.as_deref() == Some(host.as_str()))
    {
        return Some(city);
    }
    serves_default_city(state.public_url.host(), &host).then(|| default_city(state))?
}

/// The host name of a Host header, lower case, without its port or IPv6 brackets.
fn host_name(header: &str) -> String {
    let header = header.trim().to_ascii_lowercase();
    let name = match header.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
        None => header.split(':').next().unwrap_or_default().to_string(),
    };
    name.trim_end_matches('.').to_string()
}

/// Whether a request to `host` is for the city at the configured public address: that host,
/// or, when the site is configured on this machine, any of this machine's names (a browser on
/// it may say localhost for 127.0.0.1). Any other host is no city of this deployment, so a
/// forged Host header gets no page, link or mail in a city's name.
fn serves_default_city(configured: &str, host: &str) -> bool {
    let loopback = |name: &str| {
        name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    host == configured || (loopback(configured) && loopback(host))
}

/// The city at the configured address: the first without a host name of its own.
fn default_city(state: &AppState) -> Option<&Tenant> {
    state
        .tenants
        .iter()
        .find(|t| t.host.as_deref().is_none_or(str::is_empty))
        .or_else(|| state.tenants.first())
}

impl FromRequestParts<AppState> for City {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.tenants.is_empty() {
            return Err(ApiError::unavailable(
                "no city is configured yet; run `machi serve --demo` or import a catalog",
            ));
        }
        city_for_host(state, parts.headers.get(HOST))
            .cloned()
            .map(City)
            .ok_or_else(|| {
                ApiError::new(
                    axum::http::StatusCode::MISDIRECTED_REQUEST,
                    "unknown-host",
                    "Unknown host",
                    "this server serves no city at that host name; use the city's address",
                )
                .with_ja("このアドレスで提供している市はありません。市のアドレスからアクセスしてください。")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_host_serves_the_default_city() {
        assert_eq!(host_name("City.Example:8443"), "city.example");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert!(serves_default_city("city.example", "city.example"));
        assert!(!serves_default_city("city.example", "evil.example"));
        assert!(!serves_default_city("city.example", "localhost"));
        assert!(serves_default_city("127.0.0.1", "localhost"));
        assert!(serves_default_city("127.0.0.1", "::1"));
        assert!(!serves_default_city("127.0.0.1", "evil.example"));
    }
}
