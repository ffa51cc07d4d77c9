//! Proof that an address belongs to whoever subscribes it: a webhook answers a signed
//! challenge before it is stored; a push subscription must look like one a browser made.

use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use machi_core::procedures::Localized;
use machi_store::subscriptions::{NewSubscription, Subscribed};
use serde_json::json;

use crate::kit::{ApiError, PageError, Ui};
use crate::AppState;
use machi_core::subscriptions::webhook_signature;
use machi_core::subscriptions::BrowserKeys;

/// How long a webhook has to answer its challenge.
const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(5);

/// An address machi may send to: HTTPS, or plain HTTP only to this very machine (a relay
/// beside machi, a test).
fn allowed_url(address: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(address) else {
        return false;
    };
    match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => matches!(
            url.host_str(),
            Some("127.0.0.1") | Some("[::1]") | Some("localhost")
        ),
        _ => false,
    }
}

pub(super) fn check_address(address: &str) -> Result<(), Localized> {
    if address.len() > 2000 || !allowed_url(address) {
        return Err(Localized::new(
            "https:// で始まるWebhookのURLを入力してください",
            "enter the webhook's https:// address",
        ));
    }
    Ok(())
}

/// Whether an address is on the public internet: not this machine, not the city's own network
/// (private, shared, link-local, unique-local ranges), not a special range.
fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10, shared address space (carrier-grade NAT).
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    // fc00::/7 unique local, fe80::/10 link local.
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// A webhook registered from the public form must be on the public internet, so that nobody can
/// make machi post into the city's own network (server-side request forgery) unless the city
/// allows it (`--webhook-allow-private`). Plain http to this machine stays allowed (a relay
/// beside machi).
pub(super) async fn reaches_outside(address: &str, allow_private: bool) -> Result<(), Localized> {
    let refused = |why: &str| {
        Err(Localized::new(
            format!("このURLには送れません({why})。インターネットから届くhttps://のURLを入力してください"),
            format!("machi cannot send to this address ({why}); enter an https:// address reachable from the internet"),
        ))
    };
    let Ok(url) = reqwest::Url::parse(address) else {
        return refused("URL");
    };
    if allow_private || url.scheme() == "http" {
        return Ok(());
    }
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return refused("host");
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<std::net::IpAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(found) => found.map(|a| a.ip()).collect(),
        Err(_) => return refused("DNS"),
    };
    if addresses.is_empty() || !addresses.iter().all(|ip| is_public(*ip)) {
        return refused("private address");
    }
    Ok(())
}

/// A push subscription as browsers make them: an HTTPS endpoint, an uncompressed P-256 public
/// key and a 16-byte secret (RFC 8291), base64url.
pub(super) fn check_push_subscription(endpoint: &str, keys: &BrowserKeys) -> Result<(), ApiError> {
    if endpoint.len() > 2000 || !allowed_url(endpoint) {
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

/// Posts a signed challenge to the webhook; it must answer 2xx with the challenge in its body.
async fn answers_challenge(url: &str, secret: &str) -> Result<(), String> {
    let challenge = machi_store::sessions::random_token();
    let body = json!({ "type": "subscription.verify", "challenge": challenge }).to_string();
    let signature = webhook_signature(secret, chrono::Utc::now().timestamp(), body.as_bytes());
    let client = reqwest::Client::builder()
        .timeout(CHALLENGE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Machi-Signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status();
    let answer = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    if !answer.contains(&challenge) {
        return Err("the answer did not contain the challenge".into());
    }
    Ok(())
}

/// What became of a webhook's registration.
pub(super) enum Registered {
    Done(Response),
    /// The address did not answer its challenge: the form again, saying why.
    Refused(Localized),
}

pub(super) async fn subscribe_webhook(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    mut new: NewSubscription,
    base: &str,
) -> Result<Registered, PageError> {
    if let Err(why) = reaches_outside(&new.address, state.webhook_allow_private).await {
        return Ok(Registered::Refused(why));
    }
    new.secret = machi_store::sessions::random_token();
    new.confirmed = true;
    if let Err(error) = answers_challenge(&new.address, &new.secret).await {
        return Ok(Registered::Refused(Localized::new(
            format!("このURLが確認用のリクエストに応えませんでした。受信側で challenge の値を返してください({error})"),
            format!("The address did not answer the verification request with its challenge ({error})"),
        )));
    }
    let outcome = state.store.subscribe(&city.id, &new, |_| None).await?;
    // Answering the challenge proves control of the address, so its owner may see the
    // subscription it already had.
    let subscription = match outcome {
        Subscribed::Created(s) | Subscribed::Existing(s) => s,
    };
    Ok(Registered::Done(super::message_page(
        ui,
        city,
        ui.t("Webhookを登録しました", "Webhook registered"),
        &format!(
            "{} {base}/subscriptions/{}",
            ui.t(
                "署名の検証に使う秘密の値は次のとおりです。この画面でしか表示しません。設定の変更・停止:",
                "Verify each request's Machi-Signature with this secret, shown only here. Manage or cancel:"
            ),
            subscription.id
        ),
        Some(subscription.secret),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_citys_own_network_is_not_public() {
        for private in [
            "10.1.2.3",
            "192.168.0.10",
            "172.16.5.5",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "133.242.0.1", "2001:4860:4860::8888"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn webhooks_into_the_citys_network_are_refused_unless_allowed() {
        assert!(reaches_outside("https://10.0.0.5/hook", false)
            .await
            .is_err());
        assert!(reaches_outside("https://127.0.0.1:8443/hook", false)
            .await
            .is_err());
        assert!(reaches_outside("https://localhost/hook", false)
            .await
            .is_err());
        assert!(reaches_outside("https://10.0.0.5/hook", true).await.is_ok());
        assert!(reaches_outside("http://127.0.0.1:9000/hook", false)
            .await
            .is_ok());
        assert!(reaches_outside("https://8.8.8.8/hook", false).await.is_ok());
    }

    #[test]
    fn only_https_or_this_machine() {
        assert!(allowed_url("https://school.example.jp/hook"));
        assert!(allowed_url("http://127.0.0.1:9000/hook"));
        assert!(!allowed_url("http://school.example.jp/hook"));
        assert!(!allowed_url("ftp://example.jp/"));
        assert!(!allowed_url("not a url"));
    }
}
