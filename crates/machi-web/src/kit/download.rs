//! Files to save: exports under an ASCII name, stored files under their own (RFC 5987), and the
//! percent-encoding those names and URL segments need.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// A file to save (CSV, Excel) under an ASCII file name.
pub(crate) fn attachment(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A stored file to download under its own name (RFC 5987 `filename*`, with an ASCII
/// fallback for old clients), of its own type and never sniffed by the browser.
pub(crate) fn named_download(bytes: Vec<u8>, media_type: &str, filename: &str) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_fallback(filename),
        percent_encode(filename)
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The plain `filename=` for old clients: ASCII letters, digits and `-._` kept, the rest `_`.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RFC 5987 encoding of a file name for `filename*`.
pub(crate) fn percent_encode(name: &str) -> String {
    percent_encode_except(name, b"-._~")
}

/// Percent-encodes all but ASCII letters, digits and the bytes in `keep` (RFC 3986 unreserved
/// characters are `-._~`; a URL path segment may keep more).
pub(crate) fn percent_encode_except(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_fall_back_to_ascii_for_old_clients() {
        assert_eq!(ascii_fallback("避難所 list.pdf"), "____list.pdf");
        assert_eq!(
            percent_encode_except("避 a(1)", b"-._~()"),
            "%E9%81%BF%20a(1)"
        );
    }
}
