//! Web Push (RFC 8030) to residents' browsers: the payload encrypted for the browser's keys
//! (aes128gcm, RFC 8291) and the request signed with the city's VAPID key (RFC 8292), both by
//! the web-push crate; reqwest sends it to whichever push service the browser named.
//!
//! The VAPID key pair is made once per city and kept in the database, so every node signs with
//! the key the browsers subscribed with.

use std::sync::Arc;
use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use machi_core::subscriptions::{BrowserKeys, Channel};
use machi_store::deliveries::Outcome;
use machi_store::vapid::VapidKeys;
use machi_store::Store;
use serde_json::json;
use web_push::{ContentEncoding, SubscriptionInfo, VapidSignatureBuilder, WebPushMessageBuilder};

use super::{http_outcome, rate_limit, send_each, Prepared, Sender, Sending};

/// Requests in flight at once.
const CONCURRENCY: usize = 32;
/// Characters of the notice's text put in the notification (the payload must stay under
/// about 4 KB after encryption; the notification links to the whole notice).
const TEXT_IN_PAYLOAD: usize = 600;

pub(crate) struct WebPush {
    store: Store,
    /// Each city's VAPID keys, read once: they never change once made.
    keys: tokio::sync::Mutex<std::collections::HashMap<String, VapidKeys>>,
    client: reqwest::Client,
    allow_private: bool,
    contact: String,
    limit: Arc<DefaultDirectRateLimiter>,
}

impl WebPush {
    /// `contact` is the VAPID `sub` claim: how a push service reaches the city.
    pub fn new(store: Store, contact: &str, allow_private: bool) -> Self {
        Self {
            store,
            keys: Default::default(),
            client: crate::outbound::client_builder(allow_private)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            allow_private,
            contact: contact.to_string(),
            limit: Arc::new(rate_limit(2000)),
        }
    }

    async fn push(&self, item: &Prepared) -> Outcome {
        if let Err(why) = crate::outbound::check_url(&item.delivery.address, self.allow_private) {
            return Outcome::Dead(format!("push: machi does not send there ({why})"));
        }
        let request = match self.request(item).await {
            Ok(request) => request,
            Err(error) => return Outcome::Dead(error),
        };
        self.limit.until_ready().await;
        match request.send().await {
            // RFC 8030: 404 and 410 both mean the subscription has expired.
            Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => {
                Outcome::Gone("the push service no longer knows this subscription".into())
            }
            Ok(response) => http_outcome(response.status(), "the push service"),
            Err(error) => Outcome::Retry(format!("push service: {error}")),
        }
    }

    async fn city_keys(&self, tenant: &str) -> Result<VapidKeys, String> {
        let mut keys = self.keys.lock().await;
        if let Some(known) = keys.get(tenant) {
            return Ok(known.clone());
        }
        let stored = self
            .store
            .vapid_keys(tenant)
            .await
            .map_err(|e| e.to_string())?;
        keys.insert(tenant.to_string(), stored.clone());
        Ok(stored)
    }

    async fn request(&self, item: &Prepared) -> Result<reqwest::RequestBuilder, String> {
        let keys: BrowserKeys = serde_json::from_str(&item.delivery.secret)
            .map_err(|e| format!("stored browser keys: {e}"))?;
        let info = SubscriptionInfo::new(item.delivery.address.as_str(), &keys.p256dh, &keys.auth);
        let vapid = self.city_keys(&item.delivery.tenant_id).await?;
        let mut signature = VapidSignatureBuilder::from_base64(&vapid.private, &info)
            .map_err(|e| format!("VAPID key: {e}"))?;
        signature.add_claim("sub", self.contact.as_str());
        // RFC 8292: the audience is the push resource's origin, port included (web-push's
        // default drops a non-default port).
        let origin = reqwest::Url::parse(&item.delivery.address)
            .map_err(|e| format!("push endpoint: {e}"))?
            .origin()
            .ascii_serialization();
        signature.add_claim("aud", origin.as_str());
        let payload = payload(item).to_string();
        let mut message = WebPushMessageBuilder::new(&info);
        message.set_payload(ContentEncoding::Aes128Gcm, payload.as_bytes());
        // An emergency is worth waking a sleeping phone for, and stale after an hour.
        if item.is_emergency() {
            message.set_urgency(web_push::Urgency::High);
            message.set_ttl(3600);
        } else {
            message.set_ttl(86_400);
        }
        message.set_vapid_signature(signature.build().map_err(|e| format!("VAPID: {e}"))?);
        let built = web_push::request_builder::build_request::<Vec<u8>>(
            message.build().map_err(|e| format!("push message: {e}"))?,
        );
        let mut request = self.client.post(built.uri().to_string());
        for (name, value) in built.headers() {
            request = request.header(name.as_str(), value.as_bytes());
        }
        Ok(request.body(built.into_body()))
    }
}

impl Sender for WebPush {
    fn channel(&self) -> Channel {
        Channel::WebPush
    }

    fn batch(&self) -> i64 {
        200
    }

    fn send<'a>(&'a self, batch: &'a [Prepared]) -> Sending<'a> {
        send_each(batch, CONCURRENCY, |item| self.push(item))
    }
}

/// What the service worker shows: a title, a shortened text, and where a tap leads.
fn payload(item: &Prepared) -> serde_json::Value {
    let content = &item.content;
    let text: String = content.text.chars().take(TEXT_IN_PAYLOAD).collect();
    json!({
        "title": content.subject,
        "body": text,
        "url": content.url.clone().or_else(|| item.manage_url()),
        "tag": item.delivery.notice_id,
        // Every message carries the way to change or stop what arrives.
        "manage_url": item.manage_url(),
        "urgent": item.is_emergency(),
    })
}
