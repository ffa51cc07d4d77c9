//! How each channel's far end subscribes and what it checks in what arrives: a browser's push
//! subscription (keys made by `ece`), a webhook answering its challenge, a LINE follow event,
//! the webhook signature, and the push message (decrypted by `ece`, VAPID verified by
//! `jwt-simple`).

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{b64url, line_settings};
use crate::harness::TestApp;
use crate::receivers::{Receivers, LINE_SECRET};

/// A browser's push subscription: keys made as a browser makes them (ece), the endpoint at the
/// test's push service.
pub(super) async fn subscribe_browser(
    app: &TestApp,
    receivers: &Receivers,
) -> (Box<dyn ece::LocalKeyPair>, Vec<u8>) {
    let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
    let public = keys.pub_as_raw().unwrap();
    let bad = app
        .client
        .post(app.url("/api/v1/subscriptions"))
        .json(&json!({
            "endpoint": receivers.url("/push/1"),
            "keys": { "p256dh": b64url(&public[..20]), "auth": b64url(&auth) },
            "categories": ["bousai"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let created = app
        .client
        .post(app.url("/api/v1/subscriptions"))
        .json(&json!({
            "endpoint": receivers.url("/push/1"),
            "keys": { "p256dh": b64url(&public), "auth": b64url(&auth) },
            "categories": ["bousai"],
            "areas": "北町",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert!(created["manage_url"]
        .as_str()
        .unwrap()
        .contains("/subscriptions/"));
    (keys, auth.to_vec())
}

/// A webhook registered through the page: it answers the challenge and gets its secret.
pub(super) async fn subscribe_webhook(app: &TestApp, receivers: &Receivers) -> String {
    let silent = app
        .client
        .post(app.url("/subscribe"))
        .form(&[
            ("category", "bousai"),
            ("channel", "webhook"),
            ("webhook_url", &receivers.url("/hook-broken")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        silent.status(),
        422,
        "an address that does not answer its challenge"
    );
    assert!(silent.text().await.unwrap().contains("challenge"));
    let page = app
        .client
        .post(app.url("/subscribe"))
        .form(&[
            ("category", "bousai"),
            ("channel", "webhook"),
            ("webhook_url", &receivers.url("/hook")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let at = page.find("id=\"secret\"").expect("the secret is shown");
    let value = &page[at..];
    let start = value.find("value=\"").unwrap() + 7;
    let challenge = receivers.at("/hook");
    assert_eq!(challenge[0].json()["type"], "subscription.verify");
    value[start..start + 64].to_string()
}

/// machi as a city runs it, without `--webhook-allow-private`: the public form registers no
/// webhook and no push endpoint on this machine or in the city's network, over http or https,
/// and says no more than that (no remote error text for a port scanner to read).
pub(super) async fn addresses_inside_are_refused(app: &TestApp, receivers: &Receivers) {
    let base = app.serve_beside(|state| state).await;
    let client = reqwest::Client::new();
    let posted_before = receivers.at("/hook").len();
    for address in [
        receivers.url("/hook"),
        "http://127.0.0.1:5432/".into(),
        "http://localhost:22/".into(),
        "http://[::1]:25/".into(),
        "https://127.0.0.1:1/hook".into(),
        "https://10.0.0.5/hook".into(),
        "https://169.254.169.254/latest/meta-data".into(),
        "http://school.example.jp/hook".into(),
    ] {
        let refused = client
            .post(format!("{base}/subscribe"))
            .form(&[
                ("category", "bousai"),
                ("channel", "webhook"),
                ("webhook_url", address.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422, "{address}");
        let page = refused.text().await.unwrap();
        assert!(page.contains("このURLには送れません"), "{address}: {page}");
    }
    assert_eq!(
        receivers.at("/hook").len(),
        posted_before,
        "no challenge was posted to this machine"
    );
    let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
    let public = keys.pub_as_raw().unwrap();
    let push = client
        .post(format!("{base}/api/v1/subscriptions"))
        .json(&json!({
            "endpoint": receivers.url("/push/9"),
            "keys": { "p256dh": b64url(&public), "auth": b64url(&auth) },
            "categories": ["bousai"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 422, "a push endpoint on this machine");
}

/// LINE's signed event about one user arrives at machi (`follow` or `unfollow`).
pub(crate) async fn line_event(line_app: &str, kind: &str, user: &str) {
    post_line_event(line_app, json!({ "type": kind }), user).await
}

/// A user's text message to the official account arrives at machi.
pub(crate) async fn line_message(line_app: &str, user: &str, text: &str) {
    let event = json!({
        "type": "message",
        "message": { "type": "text", "id": "468789577898262530", "quoteToken": "q3Plxr4AgKd", "text": text },
    });
    post_line_event(line_app, event, user).await
}

/// Posts one event as LINE does: forged first (refused), then signed with the channel secret.
async fn post_line_event(line_app: &str, mut event: Value, user: &str) {
    let fields = json!({
        "mode": "active", "timestamp": 1_700_000_000_000_i64,
        "replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
        "source": { "type": "user", "userId": user },
        "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZR",
        "deliveryContext": { "isRedelivery": false }
    });
    for (key, value) in fields.as_object().unwrap() {
        event[key] = value.clone();
    }
    let body = json!({
        "destination": "Uffffffffffffffffffffffffffffffff",
        "events": [event]
    })
    .to_string();
    let forged = reqwest::Client::new()
        .post(format!("{line_app}/line/webhook"))
        .header("x-line-signature", "AAAA")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let mut mac = Hmac::<Sha256>::new_from_slice(LINE_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let accepted = reqwest::Client::new()
        .post(format!("{line_app}/line/webhook"))
        .header("content-type", "application/json")
        .header("x-line-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
}

/// Starts machi's router with the LINE account configured, beside the test's own app.
pub(crate) async fn line_enabled_app(app: &TestApp, receivers: &Receivers) -> String {
    let line = line_settings(receivers);
    app.serve_beside(|state| state.with_line(Some(line))).await
}

pub(super) fn check_webhook_signature(received: &crate::receivers::Received, secret: &str) {
    let header = received.header("machi-signature");
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=…,v1=…");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&received.body);
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("the signature verifies with the subscription's secret");
}

pub(crate) fn check_push(
    received: &crate::receivers::Received,
    keys: &dyn ece::LocalKeyPair,
    auth: &[u8],
    vapid_public: &str,
    audience: &str,
) -> Value {
    assert_eq!(received.header("content-encoding"), "aes128gcm");
    assert!(received.header("ttl").parse::<u32>().unwrap() > 0);
    let authorization = received.header("authorization");
    let (token, key) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .expect("vapid t=…, k=… (RFC 8292)");
    assert_eq!(
        key, vapid_public,
        "signed with the key browsers subscribed with"
    );
    let raw_key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key)
        .unwrap();
    use jwt_simple::prelude::*;
    let verifier = ES256PublicKey::from_bytes(&raw_key).unwrap();
    let claims = verifier
        .verify_token::<Value>(token, None)
        .expect("the VAPID token verifies");
    assert_eq!(claims.audiences.unwrap().into_string().unwrap(), audience);
    assert!(claims.subject.unwrap().starts_with("mailto:"));
    let plain = ece::decrypt(&keys.raw_components().unwrap(), auth, &received.body)
        .expect("the payload decrypts with the browser's keys (RFC 8291)");
    serde_json::from_slice(&plain).unwrap()
}
