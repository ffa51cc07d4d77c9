//! 公開URL: the address residents reach the site at, from configuration (`--public-url`, or the
//! city's own host name), never from a request's Host header: links in e-mail, LINE, push and
//! webhook messages, feeds, CAP documents and payment return addresses all come from here, so
//! a forged Host header cannot point a resident anywhere else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use machi_store::Tenant;

use super::problem::ApiError;
use super::tenant::City;
use crate::AppState;

/// The deployment's public address: scheme, host and port, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    scheme: String,
    host: String,
    port: Option<String>,
    path: String,
}

impl PublicUrl {
    /// Reads `http(s)://host[:port][/path]`; anything else is refused with what is accepted.
    pub fn parse(url: &str) -> Result<Self, String> {
        let refused = || {
            format!("the public URL must look like https://city.example or http://127.0.0.1:8080, not {url:?}")
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(refused)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(refused());
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(refused());
                }
                (host, Some(port.to_string()))
            }
            _ => (authority, None),
        };
        if host.is_empty() || host.contains(['@', '?', '#', ' ']) {
            return Err(refused());
        }
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path: path.to_string(),
        })
    }

    /// The address as configured, e.g. `https://city.example`.
    pub fn base(&self) -> String {
        self.with_host(&self.host)
    }

    /// The address of one city: its own host name when it has one (several cities in one
    /// deployment), with the configured scheme and port; otherwise the configured address.
    pub fn for_city(&self, city: &Tenant) -> String {
        match city.host.as_deref() {
            Some(host) if !host.is_empty() => self.with_host(host),
            _ => self.base(),
        }
    }

    /// The configured host name (lower case, without the port).
    pub fn host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// Whether residents reach the site over HTTPS.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    fn with_host(&self, host: &str) -> String {
        let port = self
            .port
            .as_deref()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        format!("{}://{host}{port}{}", self.scheme, self.path)
    }
}

/// The public address of the request's city, for building absolute links.
pub(crate) struct SiteUrl(pub String);

impl FromRequestParts<AppState> for SiteUrl {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let City(city) = City::from_request_parts(parts, state).await?;
        Ok(Self(state.public_url.for_city(&city)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city(host: Option<&str>) -> Tenant {
        Tenant {
            id: "demo".into(),
            name_ja: "デモ市".into(),
            name_en: "Demo City".into(),
            host: host.map(str::to_string),
        }
    }

    #[test]
    fn the_configured_address_is_kept_without_its_trailing_slash() {
        let url = PublicUrl::parse("https://machi.example/").unwrap();
        assert_eq!(url.base(), "https://machi.example");
        assert!(url.is_https());
        let local = PublicUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(local.for_city(&city(None)), "http://127.0.0.1:8080");
        assert!(!local.is_https());
    }

    #[test]
    fn a_city_with_its_own_host_keeps_the_scheme_and_port() {
        let url = PublicUrl::parse("https://machi.example:8443").unwrap();
        assert_eq!(
            url.for_city(&city(Some("tonari.example"))),
            "https://tonari.example:8443"
        );
        assert_eq!(url.for_city(&city(None)), "https://machi.example:8443");
    }

    #[test]
    fn a_path_prefix_is_kept() {
        let url = PublicUrl::parse("https://city.example/machi/").unwrap();
        assert_eq!(url.base(), "https://city.example/machi");
    }

    #[test]
    fn other_schemes_and_broken_addresses_are_refused() {
        for bad in [
            "ftp://x",
            "machi.example",
            "http://",
            "http://a:port",
            "http://u@h",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(PublicUrl::parse("http://[::1]:8080").is_ok());
    }
}
