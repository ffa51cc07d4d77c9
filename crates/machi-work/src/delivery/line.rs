//! The city's LINE official account, through the Messaging API: one `multicast` request per
//! notice for up to 500 followers at a time, `push` for a single one.
//!
//! Each request carries an `X-Line-Retry-Key` made from the delivery ids it carries, so when a
//! batch goes again (a timeout, a crash after sending) LINE recognises the repeat and answers
//! 409 instead of sending twice; 409 therefore counts as sent. The published rate limits
//! (multicast 200 requests/s, push 2,000 requests/s) are kept on our side.

use std::sync::Arc;
use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use machi_core::subscriptions::{Channel, LineSettings};
use machi_store::deliveries::Outcome;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{http_outcome, rate_limit, Prepared, Sender, Sending};

/// The API's limit of recipients per multicast.
const MULTICAST_MAX: usize = 500;
/// The API's limit on a text message.
const TEXT_MAX: usize = 5000;

pub(crate) struct Line {
    client: reqwest::Client,
    settings: LineSettings,
    multicast_limit: Arc<DefaultDirectRateLimiter>,
    push_limit: Arc<DefaultDirectRateLimiter>,
}

impl Line {
    pub fn new(settings: &LineSettings) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            settings: LineSettings {
                api_url: settings.api_url.trim_end_matches('/').to_string(),
                ..settings.clone()
            },
            multicast_limit: Arc::new(rate_limit(200)),
            push_limit: Arc::new(rate_limit(2000)),
        }
    }

    /// Sends one message to every recipient in `group` (all carry the same content).
    async fn send_group(&self, group: &[Prepared]) -> Outcome {
        let messages = json!([{ "type": "text", "text": text(&group[0]) }]);
        let (path, body, limit) = if let [one] = group {
            let body = json!({ "to": one.delivery.address, "messages": messages });
            ("push", body, &self.push_limit)
        } else {
            let to: Vec<&str> = group.iter().map(|p| p.delivery.address.as_str()).collect();
            (
                "multicast",
                json!({ "to": to, "messages": messages }),
                &self.multicast_limit,
            )
        };
        limit.until_ready().await;
        let request = self
            .client
            .post(format!("{}/v2/bot/message/{path}", self.settings.api_url))
            .bearer_auth(&self.settings.channel_token)
            .header("X-Line-Retry-Key", retry_key(group))
            .json(&body);
        match request.send().await {
            // 409: this retry key was accepted before; the messages went then.
            Ok(response) if response.status() == reqwest::StatusCode::CONFLICT => Outcome::Sent,
            Ok(response) => http_outcome(response.status(), "LINE"),
            Err(error) => Outcome::Retry(format!("LINE: {error}")),
        }
    }
}

impl Sender for Line {
    fn channel(&self) -> Channel {
        Channel::Line
    }

    fn batch(&self) -> i64 {
        MULTICAST_MAX as i64 * 4
    }

    fn send<'a>(&'a self, batch: &'a [Prepared]) -> Sending<'a> {
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(batch.len());
            for group in same_content(batch) {
                let outcome = self.send_group(group).await;
                outcomes.extend(std::iter::repeat_n(outcome, group.len()));
            }
            outcomes
        })
    }
}

/// Splits the batch into runs that say the same thing, at most [`MULTICAST_MAX`] each.
fn same_content(batch: &[Prepared]) -> Vec<&[Prepared]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=batch.len() {
        let ends = i == batch.len()
            || i - start == MULTICAST_MAX
            || !Arc::ptr_eq(&batch[i].content, &batch[start].content);
        if ends {
            groups.push(&batch[start..i]);
            start = i;
        }
    }
    groups
}

/// A UUID (the form LINE asks for) derived from the deliveries carried.
fn retry_key(group: &[Prepared]) -> String {
    let mut hash = Sha256::new();
    for item in group {
        hash.update(item.delivery.id.to_be_bytes());
    }
    let mut bytes: [u8; 16] = [0; 16];
    bytes.copy_from_slice(&hash.finalize()[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The bubble: title, text, link; cut to the API's limit.
fn text(item: &Prepared) -> String {
    let content = &item.content;
    let mut text = format!("{}\n\n{}", content.subject, content.text);
    let link = content
        .url
        .as_ref()
        .map(|url| format!("\n\n{url}"))
        .unwrap_or_default();
    let room = TEXT_MAX - link.chars().count();
    if text.chars().count() > room {
        text = text.chars().take(room - 1).collect::<String>() + "…";
    }
    text + &link
}
