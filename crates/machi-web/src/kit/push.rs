//! A browser's push subscription (Web Push), as the notices' subscribe page and a booking's
//! reminders take it.

use base64::Engine;
use machi_core::procedures::Localized;
use machi_core::subscriptions::BrowserKeys;
use machi_work::outbound;

use super::ApiError;

/// A push subscription as browsers make them: an HTTPS endpoint, an uncompressed P-256 public
/// key and a 16-byte secret (RFC 8291), base64url.
pub(crate) async fn check_push_subscription(
    endpoint: &str,
    keys: &BrowserKeys,
    allow_private: bool,
) -> Result<(), ApiError> {
    // The length first: an overlong address is refused without a DNS lookup.
    if endpoint.len() > 2000
        || outbound::check_reachable(endpoint, allow_private)
            .await
            .is_err()
    {
        return Err(ApiError::invalid_field(
            "/endpoint",
            Localized::new(
                "プッシュの送り先が正しくありません",
                "the endpoint must be an https:// address",
            ),
        ));
    }
    let decode = |text: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .unwrap_or_default()
    };
    let p256dh = decode(&keys.p256dh);
    if p256dh.len() != 65 || p256dh[0] != 4 {
        return Err(ApiError::invalid_field(
            "/keys/p256dh",
            Localized::new(
                "ブラウザの公開鍵が正しくありません",
                "p256dh must be an uncompressed P-256 public key (65 bytes, base64url)",
            ),
        ));
    }
    if decode(&keys.auth).len() != 16 {
        return Err(ApiError::invalid_field(
            "/keys/auth",
            Localized::new(
                "ブラウザの認証用の値が正しくありません",
                "auth must be 16 bytes, base64url",
            ),
        ));
    }
    Ok(())
}

/// What a browser's push subscription gives us besides its endpoint (RFC 8291); documents
/// [`BrowserKeys`] under its own name.
#[derive(utoipa::ToSchema)]
#[schema(as = BrowserKeys)]
#[allow(dead_code)] // Only describes the JSON for OpenAPI; never built.
pub(crate) struct BrowserKeysSchema {
    /// The browser's P-256 public key, uncompressed, base64url.
    p256dh: String,
    /// The 16-byte authentication secret, base64url.
    auth: String,
}
