//! Security checks every room uses: the Origin of a form post, constant-time comparison of
//! secrets, the attributes of session cookies, and addresses no handler should see.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Set-Cookie` for a staff cookie: HttpOnly, SameSite=Lax, scoped to `/staff`, and Secure
/// whenever the request came over HTTPS (directly or through the proxy).
pub(crate) fn staff_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_seconds: i64,
) -> Option<HeaderValue> {
    let secure = is_https(headers);
    let cookie = format!(
        "{name}={value}; Path=/staff; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
