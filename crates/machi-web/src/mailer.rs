//! The mail worker: takes due messages from the outbox and sends them over SMTP (lettre).
//! Runs on every node; the outbox lease keeps two nodes from sending the same message at once.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use machi_store::mail::QueuedMail;
use machi_store::Store;

/// How often the outbox is looked at when it was empty.
const POLL: Duration = Duration::from_millis(500);
/// Messages claimed at a time.
const BATCH: i64 = 20;

/// Where and as whom mail is sent.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (plain, for a relay inside the city's network), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://host` (TLS); lettre's URL format. `None`: mail waits in the outbox.
    pub smtp_url: Option<String>,
    /// The sender address, e.g. `no-reply@city.example.jp`.
    pub from: String,
}

/// Starts the worker; it runs until the process ends.
pub fn spawn(store: Store, settings: MailSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(url) = settings.smtp_url.clone() else {
            tracing::warn!("no SMTP server configured (--smtp-url): e-mail stays in the outbox");
            return;
        };
        let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&url) {
            Ok(builder) => builder.timeout(Some(Duration::from_secs(20))).build(),
            Err(error) => {
                tracing::error!(%error, "the SMTP URL is not valid; e-mail stays in the outbox");
                return;
            }
        };
        loop {
            let sent = deliver_due(&store, &transport, &settings.from).await;
            if sent == 0 {
                tokio::time::sleep(POLL).await;
            }
        }
    })
}

/// Sends what is due; returns how many messages were handled.
async fn deliver_due(
    store: &Store,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &str,
) -> usize {
    let claimed = match store.claim_mail(BATCH).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::error!(%error, "cannot read the mail outbox");
            return 0;
        }
    };
    for queued in &claimed {
        let outcome = match message(queued, from) {
            Ok(message) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(error) => Err(error),
        };
        let recorded = match outcome {
            Ok(()) => {
                metrics::counter!("machi_mail_sent_total").increment(1);
                store.mail_sent(queued.id).await
            }
            Err(error) => {
                tracing::warn!(id = queued.id, attempts = queued.attempts, %error, "mail not sent");
                metrics::counter!("machi_mail_failed_total").increment(1);
                store.mail_failed(queued, &error).await
            }
        };
        if let Err(error) = recorded {
            tracing::error!(%error, "cannot record a mail outcome");
        }
    }
    claimed.len()
}

fn message(queued: &QueuedMail, from: &str) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("sender address '{from}': {e}"))?;
    let to: Mailbox = queued
        .mail
        .recipient
        .parse()
        .map_err(|e| format!("recipient address: {e}"))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(queued.mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(queued.mail.body.clone())
        .map_err(|e| e.to_string())
}
