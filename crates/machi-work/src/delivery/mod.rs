//! The delivery workers: one loop per channel takes due deliveries from the outbox (most
//! urgent first), sends them through that channel's protocol client, and records what
//! happened. Every node runs them; the outbox's lease keeps two nodes off the same row.
//!
//! Stopping is orderly: on shutdown a worker finishes and records the batch in hand before it
//! exits, so a restart neither loses nor repeats a delivery. (A node killed outright leaves
//! its batch leased; after the lease the batch goes again with the same delivery ids, which
//! receivers can use to drop the repeat: the `Machi-Delivery` header, the Message-ID.)

mod content;
mod email;
mod line;
mod webhook;
mod webpush;

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use machi_core::subscriptions::Channel;
use machi_store::deliveries::{Outcome, LEASE_RENEWAL};
use machi_store::Store;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub(crate) use content::Prepared;
pub use machi_core::subscriptions::LineSettings;

/// How long a stopping node waits for its workers to finish the batches in hand (under the
/// 30 s most process managers give before SIGKILL).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// How often an empty outbox is looked at again (other nodes' notices, scheduled ones).
const POLL: Duration = Duration::from_millis(250);

/// Where and how messages are sent.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// `smtp://host:port`, `smtp://…?tls=required` (STARTTLS) or `smtps://host` (lettre's URL
    /// format). `None`: e-mail waits in the outbox.
    pub smtp_url: Option<String>,
    /// The sender address, e.g. `no-reply@city.example.jp`.
    pub mail_from: String,
    /// The address residents reach the site at, for links in messages (a city with its own
    /// host name gets that host with this scheme).
    pub public_url: String,
    /// The city's LINE official account; `None`: LINE deliveries wait.
    pub line: Option<LineSettings>,
    /// E-mails per second at most (what the relay accepts).
    pub mail_per_second: u32,
    /// Webhook requests in flight at once.
    pub webhook_concurrency: usize,
    /// Webhook requests per second at most (all receivers together).
    pub webhook_per_second: u32,
    /// Whether webhooks and push endpoints may be in private networks or on this machine
    /// (see [`crate::outbound`]).
    pub allow_private: bool,
}

impl DeliverySettings {
    pub fn new(public_url: &str) -> Self {
        Self {
            smtp_url: None,
            mail_from: "no-reply@machi.invalid".into(),
            public_url: public_url.trim_end_matches('/').to_string(),
            line: None,
            mail_per_second: 200,
            webhook_concurrency: 64,
            webhook_per_second: 20_000,
            allow_private: false,
        }
    }
}

/// What a channel's sending returns: one outcome per delivery, in order.
pub(crate) type Sending<'a> = Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + 'a>>;

/// A channel's protocol client.
pub(crate) trait Sender: Send + Sync {
    fn channel(&self) -> Channel;
    /// Deliveries claimed at a time.
    fn batch(&self) -> i64;
    /// Worker loops of this channel on each node.
    fn loops(&self) -> usize {
        1
    }
    fn send<'a>(&'a self, batch: &'a [Prepared]) -> Sending<'a>;
}

/// Sends each item with `send`, up to `concurrency` at once, and gives the outcomes in the
/// items' order. Unordered underneath, so one slow receiver does not hold back the rest.
pub(crate) fn send_each<'a, F, Fut>(
    batch: &'a [Prepared],
    concurrency: usize,
    send: F,
) -> Sending<'a>
where
    F: Fn(&'a Prepared) -> Fut + Send + Sync + 'a,
    Fut: Future<Output = Outcome> + Send + 'a,
{
    use futures_util::StreamExt;
    // Futures do nothing until polled, so making them all first costs only their memory.
    let pending: Vec<_> = batch
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let sent = send(item);
            async move { (i, sent.await) }
        })
        .collect();
    Box::pin(async move {
        let mut done: Vec<(usize, Outcome)> = futures_util::stream::iter(pending)
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, outcome)| outcome).collect()
    })
}

/// A rate limit of `per_second` events, smoothly spaced (GCRA), with a burst of a tenth of a
/// second's worth so a batch can start at once.
pub(crate) fn rate_limit(per_second: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new((per_second / 10).max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

/// The running workers.
pub struct Workers {
    stop: watch::Sender<bool>,
    wake: Arc<Notify>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Wakes the workers now (a notice was just saved on this node).
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Lets every worker finish and record the batch in hand, then returns; after
    /// [`SHUTDOWN_GRACE`] (receivers that hang) the rest is left to its lease, to go again with
    /// the same delivery ids once the lease runs out.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let aborts: Vec<_> = self.handles.iter().map(|h| h.abort_handle()).collect();
        let all = futures_util::future::join_all(self.handles);
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            tracing::warn!(
                "delivery workers still sending after {} s; their batches go again after the lease",
                SHUTDOWN_GRACE.as_secs()
            );
            for abort in aborts {
                abort.abort();
            }
        }
    }
}

/// Starts one worker per channel, and the asset ledger's reminder check; they run until
/// [`Workers::shutdown`].
pub fn spawn(store: Store, settings: DeliverySettings) -> Workers {
    let (stop, stopped) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let contents = Arc::new(content::Contents::new(store.clone(), &settings.public_url));
    let mut senders: Vec<Arc<dyn Sender>> = vec![
        Arc::new(webhook::Webhooks::new(&settings)),
        Arc::new(webpush::WebPush::new(
            store.clone(),
            &format!("mailto:{}", settings.mail_from),
            settings.allow_private,
        )),
    ];
    match email::Email::new(&settings) {
        Some(email) => senders.push(Arc::new(email)),
        None => {
            tracing::warn!("no SMTP server configured (--smtp-url): e-mail stays in the outbox")
        }
    }
    match &settings.line {
        Some(line) => senders.push(Arc::new(line::Line::new(line))),
        None => tracing::info!("no LINE channel configured: LINE deliveries stay in the outbox"),
    }
    let handles = senders
        .into_iter()
        .flat_map(|sender| std::iter::repeat_n(sender.clone(), sender.loops()))
        .map(|sender| {
            tokio::spawn(run(
                store.clone(),
                sender,
                contents.clone(),
                stopped.clone(),
                wake.clone(),
            ))
        })
        .collect::<Vec<_>>();
    let mut handles = handles;
    handles.push(tokio::spawn(crate::reminders::run(
        store.clone(),
        settings.public_url.clone(),
        stopped.clone(),
    )));
    handles.push(tokio::spawn(crate::lotteries::run(
        store.clone(),
        settings.public_url.clone(),
        stopped.clone(),
    )));
    Workers {
        stop,
        wake,
        handles,
    }
}

async fn run(
    store: Store,
    sender: Arc<dyn Sender>,
    contents: Arc<content::Contents>,
    mut stopped: watch::Receiver<bool>,
    wake: Arc<Notify>,
) {
    let channel = sender.channel().as_str();
    while !*stopped.borrow() {
        let claimed = match store
            .claim_deliveries(sender.channel(), sender.batch())
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(channel, %error, "cannot read the delivery outbox");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = wake.notified() => {}
                _ = stopped.changed() => {}
            }
            continue;
        }
        let ids: Vec<i64> = claimed.iter().map(|d| d.id).collect();
        let (prepared, unsendable) = contents.prepare(claimed).await;
        let outcomes = while_leased(&store, &ids, sender.send(&prepared)).await;
        let mut recorded: Vec<_> = prepared.iter().map(|p| &p.delivery).zip(outcomes).collect();
        recorded.extend(unsendable.iter().map(|(d, o)| (d, o.clone())));
        count(channel, &recorded);
        if let Err(error) = store.record_deliveries(&recorded).await {
            tracing::error!(channel, %error, "cannot record delivery outcomes; they go again after the lease");
        }
    }
}

/// Runs `sending`, renewing the lease of `ids` every [`LEASE_RENEWAL`] until it is done.
async fn while_leased<T>(store: &Store, ids: &[i64], sending: impl Future<Output = T>) -> T {
    tokio::pin!(sending);
    loop {
        tokio::select! {
            done = &mut sending => return done,
            _ = tokio::time::sleep(LEASE_RENEWAL) => {
                if let Err(error) = store.renew_lease(ids).await {
                    tracing::warn!(%error, "cannot renew the lease of a batch being sent");
                }
            }
        }
    }
}

fn count(channel: &'static str, recorded: &[(&machi_store::deliveries::Delivery, Outcome)]) {
    for (delivery, outcome) in recorded {
        let result = match outcome {
            Outcome::Sent => "sent",
            Outcome::Retry(error) => {
                tracing::warn!(channel, id = delivery.id, attempts = delivery.attempts, %error, "delivery failed; will retry");
                "retry"
            }
            Outcome::Dead(error) | Outcome::Gone(error) => {
                tracing::warn!(channel, id = delivery.id, %error, "delivery given up");
                "dead"
            }
        };
        metrics::counter!("machi_deliveries_total", "channel" => channel, "result" => result)
            .increment(1);
    }
}

/// What an HTTP answer means for a delivery: 2xx sent; 410 the receiver is gone for good; 408,
/// 429 and 5xx worth another try; other 4xx will not get better.
pub(crate) fn http_outcome(status: reqwest::StatusCode, what: &str) -> Outcome {
    let code = status.as_u16();
    match code {
        200..=299 => Outcome::Sent,
        410 => Outcome::Gone(format!("{what} answered {code}")),
        408 | 429 | 500..=599 => Outcome::Retry(format!("{what} answered {code}")),
        _ => Outcome::Dead(format!("{what} answered {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_answers_decide_what_happens_next() {
        use reqwest::StatusCode;
        assert_eq!(http_outcome(StatusCode::NO_CONTENT, "x"), Outcome::Sent);
        assert!(matches!(
            http_outcome(StatusCode::GONE, "x"),
            Outcome::Gone(_)
        ));
        assert!(matches!(
            http_outcome(StatusCode::TOO_MANY_REQUESTS, "x"),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            http_outcome(StatusCode::BAD_GATEWAY, "x"),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            http_outcome(StatusCode::UNAUTHORIZED, "x"),
            Outcome::Dead(_)
        ));
    }
}
