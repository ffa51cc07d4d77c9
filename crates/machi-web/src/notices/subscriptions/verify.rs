//! Proof that an address belongs to whoever subscribes it: a webhook answers a signed
//! challenge before it is stored; a push subscription must look like one a browser made.

use std::time::Duration;

use axum::response::Response;
use machi_core::procedures::Localized;
use machi_store::subscriptions::{NewSubscription, Subscribed};
use serde_json::json;

use machi_work::outbound;

use crate::kit::{PageError, Ui};
use crate::AppState;
use machi_core::subscriptions::webhook_signature;

/// How long a webhook has to answer its challenge.
const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(5);

/// The form's first check of a webhook address: a URL of reasonable length with a scheme and
/// host (where it may be sent is [`reaches_outside`]'s to say).
pub(super) fn check_address(address: &str) -> Result<(), Localized> {
    let parsed = reqwest::Url::parse(address).ok();
    let usable = parsed.is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.has_host());
    if address.len() > 2000 || !usable {
        return Err(Localized::new(
            "https:// で始まるWebhookのURLを入力してください",
            "enter the webhook's https:// address",
        ));
    }
    Ok(())
}

/// A webhook registered from the public form must be on the public internet over https, so
/// that nobody can make machi post into the city's own network or this machine (server-side
/// request forgery) unless the city allows it (`--webhook-allow-private`); see
/// [`machi_work::outbound`].
pub(super) async fn reaches_outside(address: &str, allow_private: bool) -> Result<(), Localized> {
    outbound::check_reachable(address, allow_private)
        .await
        .map_err(|why| {
            Localized::new(
                format!("このURLには送れません({why})。インターネットから届くhttps://のURLを入力してください"),
                format!("machi cannot send to this address ({why}); enter an https:// address reachable from the internet"),
            )
        })
}

/// Posts a signed challenge to the webhook; it must answer 2xx with the challenge in its body.
/// What went wrong is logged, not shown: the form must not tell a stranger which ports of a
/// host answer and how.
async fn answers_challenge(url: &str, secret: &str, allow_private: bool) -> Result<(), ()> {
    let outcome = challenge(url, secret, allow_private).await;
    if let Err(error) = &outcome {
        tracing::info!(%url, %error, "a webhook did not answer its challenge");
    }
    outcome.map_err(|_| ())
}

async fn challenge(url: &str, secret: &str, allow_private: bool) -> Result<(), String> {
    let challenge = machi_store::sessions::random_token();
    let body = json!({ "type": "subscription.verify", "challenge": challenge }).to_string();
    let signature = webhook_signature(secret, chrono::Utc::now().timestamp(), body.as_bytes());
    let client = outbound::client_builder(allow_private)
        .timeout(CHALLENGE_TIMEOUT)
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
    if answers_challenge(&new.address, &new.secret, state.webhook_allow_private)
        .await
        .is_err()
    {
        return Ok(Registered::Refused(Localized::new(
            "このURLが確認用のリクエストに応えませんでした。受信側で、届いた JSON の challenge の値を 2xx の応答で返してください",
            "The address did not answer the verification request: answer it with a 2xx response that contains its challenge",
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

    #[tokio::test]
    async fn webhooks_into_the_citys_network_or_this_machine_are_refused_unless_allowed() {
        for inside in [
            "https://10.0.0.5/hook",
            "https://127.0.0.1:8443/hook",
            "http://127.0.0.1:9000/hook",
            "http://[::1]:22/",
        ] {
            let refused = reaches_outside(inside, false).await.unwrap_err();
            assert!(refused.ja.contains("このURLには送れません"), "{inside}");
        }
        assert!(reaches_outside("http://127.0.0.1:9000/hook", true)
            .await
            .is_ok());
        assert!(check_address("https://school.example.jp/hook").is_ok());
        assert!(check_address("javascript:alert(1)").is_err());
    }
}
