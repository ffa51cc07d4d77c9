//! Signed webhooks: a JSON POST per delivery, signed with the subscription's own secret.
//!
//! `Machi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the scheme Stripe
//! and GitHub receivers already know: the timestamp inside the MAC stops replays, the receiver
//! compares in constant time and refuses old timestamps). `Machi-Delivery` carries the
//! delivery id, the same on every retry, so a receiver can drop a repeat.

use std::sync::Arc;
use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use machi_core::subscriptions::{webhook_signature, Channel};
use machi_store::deliveries::Outcome;

use super::{http_outcome, rate_limit, send_each, DeliverySettings, Prepared, Sender, Sending};

/// Worker loops: while one claims or records in the database, the others send.
const LOOPS: usize = 4;
/// A receiver has this long to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Webhooks {
    client: reqwest::Client,
    allow_private: bool,
    limit: Arc<DefaultDirectRateLimiter>,
    concurrency: usize,
}

impl Webhooks {
    pub fn new(settings: &DeliverySettings) -> Self {
        let client = crate::outbound::client_builder(settings.allow_private)
            .timeout(TIMEOUT)
            .pool_max_idle_per_host(settings.webhook_concurrency)
            .user_agent(concat!("machi/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            client,
            allow_private: settings.allow_private,
            limit: Arc::new(rate_limit(settings.webhook_per_second)),
            concurrency: settings.webhook_concurrency.max(1),
        }
    }

    async fn post(&self, item: &Prepared) -> Outcome {
        if let Err(why) = crate::outbound::check_url(&item.delivery.address, self.allow_private) {
            return Outcome::Dead(format!("webhook: machi does not send there ({why})"));
        }
        self.limit.until_ready().await;
        let body = payload(item);
        let timestamp = chrono::Utc::now().timestamp();
        let request = self
            .client
            .post(&item.delivery.address)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Machi-Delivery", item.delivery.id.to_string())
            .header(
                "Machi-Signature",
                webhook_signature(&item.delivery.secret, timestamp, body.as_bytes()),
            )
            .body(body);
        match request.send().await {
            Ok(response) => http_outcome(response.status(), "the receiver"),
            Err(error) => Outcome::Retry(format!("webhook: {error}")),
        }
    }
}

impl Sender for Webhooks {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    fn batch(&self) -> i64 {
        (self.concurrency * 16).clamp(64, 1000) as i64
    }

    fn loops(&self) -> usize {
        LOOPS
    }

    fn send<'a>(&'a self, batch: &'a [Prepared]) -> Sending<'a> {
        send_each(batch, (self.concurrency / LOOPS).max(1), |item| {
            self.post(item)
        })
    }
}

/// The JSON a receiver gets: `{"id", "type", "city", "notice", "manage_url"}`. Put together
/// from pieces serialised once per notice, since a broadcast sends the same notice to
/// hundreds of thousands of receivers.
fn payload(item: &Prepared) -> String {
    let content = &item.content;
    let manage = match item.manage_url() {
        // A URL built from hex ids and the configured base needs no escaping, but the base
        // is configuration: serialise it to be sure.
        Some(url) => serde_json::Value::from(url).to_string(),
        None => "null".into(),
    };
    format!(
        r#"{{"id":"{}","type":"{}","city":{},"notice":{},"manage_url":{manage}}}"#,
        item.delivery.id,
        if content.notice_json.is_some() {
            "notice.published"
        } else {
            "message"
        },
        content.city_json,
        content.notice_json.as_deref().unwrap_or("null"),
    )
}
