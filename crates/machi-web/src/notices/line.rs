//! The city's LINE official account: LINE posts follow and unfollow events to
//! `/line/webhook`, signed with the channel secret (`X-Line-Signature`, base64 HMAC-SHA256 of
//! the body). Following subscribes the user to 防災 for the whole city and replies with the
//! link where they can choose more; blocking the account (unfollow) ends the subscription.
//! A message 「予約 {number} {code}」 from a booking's page links that booking's day-before
//! reminder to the sender.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use hmac::{Hmac, Mac};
use machi_core::subscriptions::{Channel, Choices};
use machi_store::subscriptions::NewSubscription;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use crate::kit::{ApiError, City, SiteUrl};
use crate::AppState;
use machi_core::reservations::reminder_link::read_link_message;
use machi_core::subscriptions::LineSettings;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/line/webhook", post(events))
}

#[derive(Deserialize)]
struct Events {
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "replyToken", default)]
    reply_token: Option<String>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct Source {
    #[serde(rename = "userId", default)]
    user_id: Option<String>,
}

fn signed_by_line(settings: &LineSettings, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(given) = headers
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(settings.channel_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

async fn events(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Some(settings) = state.line.clone() else {
        return Err(ApiError::not_found("no LINE account is configured"));
    };
    if !signed_by_line(&settings, &headers, &body) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-signature",
            "Bad signature",
            "X-Line-Signature does not match the body",
        ));
    }
    let events: Events = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("not LINE webhook events: {e}")))?;
    for event in events.events {
        let Some(user) = event.source.and_then(|s| s.user_id) else {
            continue;
        };
        match event.kind.as_str() {
            "follow" => {
                let subscription = state
                    .store
                    .resubscribe(
                        &city.id,
                        &NewSubscription {
                            channel: Channel::Line,
                            address: user,
                            secret: String::new(),
                            choices: Choices::read(&["bousai".into()], ""),
                            language: "ja".into(),
                            confirmed: true,
                        },
                    )
                    .await?;
                if let Some(token) = event.reply_token {
                    let manage = format!("{base}/subscriptions/{}", subscription.id);
                    let text = format!(
                        "{}のLINE公式アカウントです。防災のお知らせ(市内全域)をお届けします。\n受け取る分類や地域の変更はこちら: {manage}",
                        city.name_ja
                    );
                    reply(&settings, &token, &text).await;
                }
            }
            "message" => {
                let Some((number, code)) = event
                    .message
                    .filter(|m| m.kind == "text")
                    .and_then(|m| read_link_message(&m.text))
                else {
                    continue;
                };
                let linked = state
                    .store
                    .link_line_reminder(&city.id, &number, &code, &user)
                    .await;
                let text = match linked {
                    Ok(Some(booking)) => format!(
                        "予約番号 {number}（{}）の前日のお知らせを、LINEでもお送りします。",
                        booking.starts.format("%Y年%m月%d日 %H:%M")
                    ),
                    Ok(None) => "予約番号か確認の番号が違います。予約のページに表示されたメッセージを、そのまま送ってください。".to_string(),
                    Err(machi_store::StoreError::Conflict(why)) => why.ja,
                    Err(other) => return Err(other.into()),
                };
                if let Some(token) = event.reply_token {
                    reply(&settings, &token, &text).await;
                }
            }
            "unfollow" => {
                state
                    .store
                    .unsubscribe_address(&city.id, Channel::Line, &user)
                    .await?;
            }
            _ => {}
        }
    }
    Ok(StatusCode::OK.into_response())
}

/// Replies to an event (a new follower gets the link to choose categories and areas; a
/// booking's link message, whether it worked). A reply that fails is only logged: what the
/// event did stands either way.
async fn reply(settings: &LineSettings, reply_token: &str, text: &str) {
    let result = reqwest::Client::new()
        .post(format!(
            "{}/v2/bot/message/reply",
            settings.api_url.trim_end_matches('/')
        ))
        .bearer_auth(&settings.channel_token)
        .json(&json!({ "replyToken": reply_token, "messages": [{ "type": "text", "text": text }] }))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    match result {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => tracing::warn!(status = %response.status(), "LINE reply refused"),
        Err(error) => tracing::warn!(%error, "LINE reply failed"),
    }
}
