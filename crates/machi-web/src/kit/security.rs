//! Security checks every room uses: the Origin of a form post, constant-time comparison of
//! secrets, the attributes of session cookies, addresses no handler should see, and which
//! client a request is from.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use super::problem::ApiError;

/// Refuses (400) an address with a NUL byte (`%00`) in its path or query: no name, number or
/// text of the city's has one, and PostgreSQL cannot store one in text, so it could only reach
/// a query as an internal error.
pub(crate) async fn refuse_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let has_nul = |part: &str| {
        part.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return ApiError::bad_request("the address contains a NUL byte (%00)")
            .with_ja("アドレスに使えない文字（%00）が含まれています。")
            .into_response();
    }
    next.run(request).await
}

/// `value` with a MAC under `key` in front (`<64 hex>.<value>`), for a hidden field the server
/// must get back unchanged: a form carrying it cannot name anything the server did not give it.
pub(crate) fn seal(key: &str, value: &str) -> String {
    format!("{}.{value}", mac_hex(key, value))
}

/// The value [`seal`] sealed under `key`, or `None` when the field was made or changed by
/// anyone else.
pub(crate) fn unseal<'a>(key: &str, sealed: &'a str) -> Option<&'a str> {
    let (mac, value) = sealed.split_once('.')?;
    constant_time_eq(mac.as_bytes(), mac_hex(key, value).as_bytes()).then_some(value)
}

fn mac_hex(key: &str, value: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether the request body is JSON (sent by a script, not a form).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// A cross-site form post carries the other site's Origin; refuse it even before the token.
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split("://").nth(1).unwrap_or_default();
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::forbidden("cross-site form posts are refused")
            .with_ja("他のサイトからの送信は受け付けません。"))
    }
}

pub(crate) use machi_core::digest::constant_time_eq;

/// `Set-Cookie` for a staff cookie: scoped to `/staff` (see [`cookie_header`]).
pub(crate) fn staff_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_seconds: i64,
) -> Option<HeaderValue> {
    cookie_header(headers, name, value, "/staff", max_age_seconds)
}

/// `Set-Cookie` for one of machi's cookies: HttpOnly, SameSite=Lax, scoped to `path`, and Secure
/// whenever the site is on HTTPS. A `max_age_seconds` of 0 deletes it.
pub(crate) fn cookie_header(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    max_age_seconds: i64,
) -> Option<HeaderValue> {
    let secure = if is_https(headers) { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}"
    );
    HeaderValue::from_str(&cookie).ok()
}

/// Puts the configured scheme in `X-Forwarded-Proto`, replacing whatever a client sent: the
/// scheme residents use is configuration (`--public-url`), not something a request may claim,
/// so that cookies are Secure exactly when the site is on https.
pub(crate) async fn configured_scheme(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let scheme = if state.public_url.is_https() {
        "https"
    } else {
        "http"
    };
    request
        .headers_mut()
        .insert("x-forwarded-proto", HeaderValue::from_static(scheme));
    next.run(request).await
}

/// Whether the site is served over HTTPS (the configured scheme, see [`configured_scheme`]).
pub(crate) fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// The credentials of `Authorization: Bearer …` (the scheme's name in any case, RFC 9110
/// §11.1), or `None` without that header or with another scheme.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The network a request came from, for limits per client: the peer's address or, when the
/// peer is a configured reverse proxy (`--trusted-proxy`), the nearest address in
/// `X-Forwarded-For` that is not one of them. An IPv6 client is its /64, which a household or a
/// phone has to itself. `None` when the server was started without peer addresses.
pub(crate) struct ClientAddr(pub Option<String>);

impl FromRequestParts<crate::AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(Self(peer.map(|peer| {
            network_of(client_behind_proxies(
                peer,
                &parts.headers,
                &state.trusted_proxies,
            ))
        })))
    }
}

/// The client a request from `peer` is for: `peer` itself unless it is a trusted proxy; then
/// the `X-Forwarded-For` hops are read from the right (each proxy appends the address it saw)
/// up to the first that is not a trusted proxy. Whatever a client wrote further left is
/// never reached, so it cannot choose its own address.
fn client_behind_proxies(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// The address an IPv4 client is counted under, or the /64 network of an IPv6 one.
fn network_of(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
            .map(|net| net.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxy: IpNet = "10.0.0.0/8".parse().unwrap();
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let headers = forwarded("198.51.100.7, 203.0.113.5, 10.9.9.9");
        // From a stranger the header is ignored.
        assert_eq!(
            client_behind_proxies(stranger, &headers, &[proxy]),
            stranger
        );
        assert_eq!(client_behind_proxies(peer, &headers, &[]), peer);
        // From the proxy: the first hop, from the right, that is not a proxy. The client's own
        // "198.51.100.7" to the left of it is not believed.
        assert_eq!(
            client_behind_proxies(peer, &headers, &[proxy]),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        // Garbage stops the walk at the last address a proxy vouched for.
        let headers = forwarded("203.0.113.5, nonsense");
        assert_eq!(client_behind_proxies(peer, &headers, &[proxy]), peer);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = network_of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = network_of("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(
            network_of("::ffff:192.0.2.1".parse::<IpAddr>().unwrap().to_canonical()),
            "192.0.2.1"
        );
    }

    #[test]
    fn origin_must_be_this_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("city.example:8080"));
        assert!(check_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://city.example:8080"),
        );
        assert!(check_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(check_origin(&headers).is_err());
    }

    #[test]
    fn json_requests_are_told_apart_by_their_content_type() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&headers));
    }
}
