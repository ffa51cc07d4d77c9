//! E-mail over SMTP (lettre, pooled connections). Every mail about a subscription carries its
//! manage link and RFC 8058 one-click unsubscribe headers (`List-Unsubscribe` with an HTTPS
//! address and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`), which mail providers show
//! as an "unsubscribe" button. The Message-ID is made from the delivery id, so a repeat after a
//! crash is recognisably the same message.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use governor::DefaultDirectRateLimiter;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use machi_core::subscriptions::Channel;
use machi_store::deliveries::Outcome;

use super::{rate_limit, DeliverySettings, Prepared, Sender, Sending};

/// Messages handed to the SMTP pool at once, and connections kept open to the relay. lettre
/// writes a message's end marker apart from its body, so each message waits for the relay's
/// delayed ACK (about 40 ms on Linux); many connections in parallel make up for it.
const CONCURRENCY: usize = 32;

pub(crate) struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
    limit: Arc<DefaultDirectRateLimiter>,
}

impl Email {
    /// `None` when no SMTP server is configured or its URL is not valid (logged).
    pub fn new(settings: &DeliverySettings) -> Option<Self> {
        let url = settings.smtp_url.as_deref()?;
        let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
            Ok(builder) => builder
                .timeout(Some(Duration::from_secs(20)))
                .pool_config(PoolConfig::new().max_size(CONCURRENCY as u32))
                .build(),
            Err(error) => {
                tracing::error!(%error, "the SMTP URL is not valid; e-mail stays in the outbox");
                return None;
            }
        };
        Some(Self {
            transport,
            from: settings.mail_from.clone(),
            limit: Arc::new(rate_limit(settings.mail_per_second)),
        })
    }

    async fn deliver(&self, item: &Prepared) -> Outcome {
        let message = match message(item, &self.from) {
            Ok(message) => message,
            Err(error) => return Outcome::Dead(error),
        };
        self.limit.until_ready().await;
        match self.transport.send(message).await {
            Ok(_) => Outcome::Sent,
            // A permanent SMTP refusal (5xx: no such mailbox) will not get better.
            Err(error) if error.is_permanent() => Outcome::Dead(error.to_string()),
            Err(error) => Outcome::Retry(error.to_string()),
        }
    }
}

impl Sender for Email {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn batch(&self) -> i64 {
        200
    }

    /// Different recipients at once; one recipient's messages one after another, in the order
    /// they were queued ("in review" must not arrive after "completed").
    fn send<'a>(&'a self, batch: &'a [Prepared]) -> Sending<'a> {
        Box::pin(async move {
            let mut by_recipient: Vec<Vec<usize>> = Vec::new();
            for (i, item) in batch.iter().enumerate() {
                match by_recipient
                    .iter_mut()
                    .find(|queue| batch[queue[0]].delivery.address == item.delivery.address)
                {
                    Some(queue) => queue.push(i),
                    None => by_recipient.push(vec![i]),
                }
            }
            let mut outcomes = vec![Outcome::Retry("not attempted".into()); batch.len()];
            let sent: Vec<Vec<(usize, Outcome)>> = futures_util::stream::iter(by_recipient)
                .map(|queue| async move {
                    let mut done = Vec::with_capacity(queue.len());
                    for i in queue {
                        done.push((i, self.deliver(&batch[i]).await));
                    }
                    done
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for (i, outcome) in sent.into_iter().flatten() {
                outcomes[i] = outcome;
            }
            outcomes
        })
    }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

fn message(item: &Prepared, from: &str) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("sender address '{from}': {e}"))?;
    let to: Mailbox = item
        .delivery
        .address
        .parse()
        .map_err(|e| format!("recipient address: {e}"))?;
    let host = from.email.domain().to_string();
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(item.content.subject.clone())
        .message_id(Some(format!("<delivery.{}@{host}>", item.delivery.id)));
    if let Some(unsubscribe) = item.unsubscribe_url() {
        builder = builder
            .raw_header(header("List-Unsubscribe", format!("<{unsubscribe}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    if item.is_emergency() {
        builder = builder.raw_header(header("Priority", "urgent".into()));
    }
    match &item.delivery.calendar {
        // A booking's confirmation: the text, and the booking as a calendar file (RFC 6047's
        // PUBLISH: an event to add, not an invitation to answer).
        Some(calendar) => {
            let ics = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                .map_err(|e| e.to_string())?;
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(text(item)))
                    .singlepart(Attachment::new("booking.ics".into()).body(calendar.clone(), ics)),
            )
        }
        None => builder.header(ContentType::TEXT_PLAIN).body(text(item)),
    }
    .map_err(|e| e.to_string())
}

/// The plain-text body: the message, the notice's link, and for subscribers how to change or
/// stop what they receive.
fn text(item: &Prepared) -> String {
    let content = &item.content;
    let en = item.delivery.language == "en";
    let mut text = content.text.clone();
    if let Some(url) = &content.url {
        text.push_str(if en {
            "\n\nRead it on the city's site: "
        } else {
            "\n\n詳しくは: "
        });
        text.push_str(url);
    }
    if let Some(manage) = item.manage_url() {
        let footer = if en {
            format!(
                "\n\n--\nYou receive this because you subscribed to notices from {}.\nChange what you receive or unsubscribe: {manage}\n",
                content.city
            )
        } else {
            format!(
                "\n\n--\n{}のお知らせ配信に登録されている方にお送りしています。\n受け取る内容の変更・配信停止: {manage}\n",
                content.city
            )
        };
        text.push_str(&footer);
    }
    text
}
