//! The delivery outbox: every message machi sends to a person is a row here, committed with
//! the change it reports (a notice and all its deliveries, a status change and its mail).
//!
//! Workers on any node claim due rows of one channel, most urgent first, by a lease: the
//! claimed rows' next attempt moves past the lease, so a node that dies mid-send only delays
//! them, and a node that stops in order finishes its batch and records it first. Failed
//! attempts back off exponentially; after [`MAX_ATTEMPTS`], or when the channel says the
//! message can never go, a row becomes a dead letter that staff can see and send again.

use chrono::{Duration, Utc};
use machi_core::notices::NoticeDraft;
use machi_core::subscriptions::{priority, Channel, DIRECT_PRIORITY};
use sqlx::{Any, Row, Transaction};

use crate::connect::Backend;
use crate::mail::OutgoingMail;
use crate::sql::{like_escape, Param, Sql};
use crate::{format_time, now_text, Result, Store};

/// Attempts before a delivery is given up and left for staff to see.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a claimed delivery is left alone by other workers. A worker renews the lease of
/// its batch every [`LEASE_RENEWAL`] while it sends, so a slow batch keeps it, and a node
/// that dies leaves its batch for others after at most this long (an emergency must not wait
/// minutes behind a crashed node).
pub const LEASE_SECONDS: i64 = 60;
/// How often a worker renews the lease of the batch in hand.
pub const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(20);

/// A delivery taken from the outbox by a worker.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub tenant_id: String,
    /// The notice it carries; `None` for a message to one person (its text is in `subject`
    /// and `body`).
    pub notice_id: Option<String>,
    pub subscription_id: Option<String>,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub address: String,
    pub secret: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    /// An iCalendar file to attach (a booking's confirmation).
    pub calendar: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Worth trying again later (a timeout, a 5xx, a rate limit).
    Retry(String),
    /// Will never go (a malformed address, a 4xx that says so): a dead letter now.
    Dead(String),
    /// The subscriber is gone (a push endpoint answered 410, a LINE user blocked the
    /// account): the subscription ends and the delivery with it.
    Gone(String),
}

/// Deliveries of one notice on one channel, by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelReport {
    pub channel: String,
    pub queued: i64,
    /// Queued again after a failed attempt.
    pub retrying: i64,
    pub sent: i64,
    pub dead: i64,
}

/// A delivery given up on.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub id: i64,
    pub notice_id: Option<String>,
    pub channel: String,
    pub address: String,
    pub attempts: i64,
    pub last_error: String,
    pub created_at: crate::Time,
}

/// Waits between attempts: 30 s, 1 min, 2 min … capped at an hour.
fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.clamp(1, 8) - 1;
    Duration::seconds((30_i64 << doublings).min(3600))
}

/// Queues a message to one person (status change, sign-in link, opt-in link) by e-mail.
pub(crate) async fn enqueue_direct(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    mail: &OutgoingMail,
) -> Result<()> {
    let mail = (tenant.to_string(), mail.clone());
    let backend = Backend::of(tx);
    enqueue_direct_all(tx, backend, std::slice::from_ref(&mail)).await
}

/// Queues an e-mail to one person with an iCalendar file attached, in `tx`.
pub(crate) async fn enqueue_with_calendar(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    mail: &crate::mail::MailWithCalendar,
) -> Result<()> {
    let message = DirectMessage {
        channel: Channel::Email,
        address: &mail.mail.recipient,
        secret: "",
        subject: &mail.mail.subject,
        body: &mail.mail.body,
        calendar: Some(&mail.calendar),
    };
    enqueue_direct_on(tx, tenant, &message).await
}

/// A message to one person on any channel (a booking's confirmation with its calendar file,
/// its reminder on LINE or in a browser), queued in `tx`.
pub(crate) struct DirectMessage<'a> {
    pub channel: Channel,
    pub address: &'a str,
    /// A browser's push keys (JSON); empty for e-mail and LINE.
    pub secret: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// An iCalendar file an e-mail carries as its attachment.
    pub calendar: Option<&'a str>,
}

pub(crate) async fn enqueue_direct_on(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    message: &DirectMessage<'_>,
) -> Result<()> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO deliveries (tenant_id, channel, address, secret, subject, body, calendar, \
         priority, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(tenant)
    .bind(message.channel.as_str())
    .bind(message.address)
    .bind(message.secret)
    .bind(message.subject)
    .bind(message.body)
    .bind(message.calendar)
    .bind(DIRECT_PRIORITY)
    .bind(&now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues e-mails to one person each, `(city, mail)`, in as few statements as the databases'
/// parameter limits allow (an intake batch acknowledges hundreds of applications at once).
pub(crate) async fn enqueue_direct_all(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    mails: &[(String, OutgoingMail)],
) -> Result<()> {
    let now = now_text();
    for chunk in mails.chunks(100) {
        let mut sql = Sql::new(
            backend,
            "INSERT INTO deliveries (tenant_id, channel, address, subject, body, priority, \
             next_attempt_at, created_at) VALUES ",
        );
        for (i, (tenant, mail)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_row(vec![
                Param::Text(tenant.clone()),
                Param::Text(Channel::Email.as_str().into()),
                Param::Text(mail.recipient.clone()),
                Param::Text(mail.subject.clone()),
                Param::Text(mail.body.clone()),
                Param::Int(DIRECT_PRIORITY),
                Param::Text(now.clone()),
                Param::Text(now.clone()),
            ]);
        }
        sqlx::query_with(sql.text(), sql.arguments())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Queues a notice for every confirmed subscriber it concerns, due at its publish time; in the
/// transaction that saves the notice. A subscriber matches when they chose one of its
/// categories and one of its areas (or the whole city); an emergency reaches every subscriber
/// in its areas whatever they chose, as a disaster alert must. Returns the number queued.
pub(crate) async fn enqueue_notice(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    tenant: &str,
    notice_id: &str,
    draft: &NoticeDraft,
    publish_at: &str,
) -> Result<u64> {
    let mut sql = Sql::new(
        backend,
        "INSERT INTO deliveries (tenant_id, notice_id, subscription_id, channel, address, secret, language, \
         priority, next_attempt_at, created_at) SELECT tenant_id, ",
    );
    sql.bind(Param::Text(notice_id.into()))
        .push(", id, channel, address, secret, language, ")
        .bind(Param::Int(priority(draft.urgency)))
        .push(", ")
        .bind(Param::Text(publish_at.into()))
        .push(", ")
        .bind(Param::Text(now_text()))
        .push(" FROM subscriptions WHERE ");
    let areas = crate::areas::area_family(tx, backend, tenant, &draft.areas)
        .await?
        .reached;
    push_audience(&mut sql, tenant, draft, &areas);
    sql.push(" ON CONFLICT DO NOTHING");
    let done = sqlx::query_with(sql.text(), sql.arguments())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// The subscriptions a notice concerns (see [`enqueue_notice`]), as a WHERE condition;
/// `areas` are the notice's areas with those they reach in the city's 町字 list.
fn push_audience(sql: &mut Sql, tenant: &str, draft: &NoticeDraft, areas: &[String]) {
    sql.push("tenant_id = ")
        .bind(Param::Text(tenant.into()))
        .push(" AND confirmed_at IS NOT NULL");
    if draft.urgency != machi_core::notices::Urgency::Emergency {
        sql.push(" AND ");
        any_listed(sql, "categories", &draft.categories);
    }
    if !areas.is_empty() {
        sql.push(" AND (areas = '|' OR ");
        any_listed(sql, "areas", areas);
        sql.push(")");
    }
}

impl crate::Store {
    /// How many subscribers a notice would reach now, per channel (what staff confirm before an
    /// emergency goes out).
    pub async fn notice_audience(
        &self,
        tenant: &str,
        draft: &NoticeDraft,
    ) -> Result<Vec<(String, i64)>> {
        let mut sql = Sql::new(
            self.backend(),
            "SELECT channel, COUNT(*) AS n FROM subscriptions WHERE ",
        );
        let areas = self.areas_reached(tenant, &draft.areas).await?;
        push_audience(&mut sql, tenant, draft, &areas);
        sql.push(" GROUP BY channel ORDER BY channel");
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("channel")?, row.try_get("n")?)))
            .collect()
    }
}

/// `(column LIKE '%|a|%' OR column LIKE '%|b|%' …)` for a `|a|b|` list column.
pub(crate) fn any_listed(sql: &mut Sql, column: &str, items: &[String]) {
    if items.is_empty() {
        // Nothing listed matches nothing (and `()` is not SQL).
        sql.push("(1 = 0)");
        return;
    }
    sql.push("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push(&format!("{column} LIKE "));
        sql.bind(Param::Text(format!("%|{}|%", like_escape(item))));
        sql.push(" ESCAPE '\\'");
    }
    sql.push(")");
}

/// Drops a notice's deliveries that have not been attempted yet (the notice changed before it
/// went out; they are queued again from the new version).
pub(crate) async fn drop_unsent(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    notice_id: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM deliveries WHERE tenant_id = $1 AND notice_id = $2 AND state = 'queued' AND attempts = 0",
    )
    .bind(tenant)
    .bind(notice_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// On SQLite, the delivery workers of this process write the outbox one at a time, in the
    /// order they ask. SQLite has one writer anyway; left to its busy handler, a dozen workers
    /// poll with growing sleeps and a claim can wait seconds (measured: up to 4.5 s while a
    /// broadcast ran) although the database is idle most of that time.
    async fn outbox_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.outbox.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Claims up to `limit` due deliveries of one channel, most urgent first.
    pub async fn claim_deliveries(&self, channel: Channel, limit: i64) -> Result<Vec<Delivery>> {
        let _turn = self.outbox_turn().await;
        let now = Utc::now();
        // PostgreSQL nodes skip rows another node is claiming; SQLite has one writer anyway.
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE deliveries SET next_attempt_at = $1, attempts = attempts + 1 WHERE id IN (\
             SELECT id FROM deliveries WHERE state = 'queued' AND channel = $2 AND next_attempt_at <= $3 \
             ORDER BY priority, next_attempt_at LIMIT $4{skip_locked}) \
             RETURNING id, tenant_id, notice_id, subscription_id, channel, address, secret, language, subject, \
             body, calendar, attempts"
        ))
        .bind(format_time(now + Duration::seconds(LEASE_SECONDS)))
        .bind(channel.as_str())
        .bind(format_time(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = rows
            .iter()
            .map(crate::typed::<Delivery>)
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    /// Keeps the lease of a batch still being sent (see [`LEASE_SECONDS`]).
    pub async fn renew_lease(&self, ids: &[i64]) -> Result<()> {
        let _turn = self.outbox_turn().await;
        let until = format_time(Utc::now() + Duration::seconds(LEASE_SECONDS));
        for chunk in ids.chunks(500) {
            let mut sql = Sql::new(self.backend, "UPDATE deliveries SET next_attempt_at = ");
            sql.bind(Param::Text(until.clone()))
                .push(" WHERE state = 'queued' AND id IN ");
            sql.bind_row(chunk.iter().map(|id| Param::Int(*id)).collect());
            sqlx::query_with(sql.text(), sql.arguments())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Records what became of claimed deliveries: the sent ones in one statement.
    pub async fn record_deliveries(&self, outcomes: &[(&Delivery, Outcome)]) -> Result<()> {
        let _turn = self.outbox_turn().await;
        let now = now_text();
        let sent: Vec<i64> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Sent)
            .map(|(d, _)| d.id)
            .collect();
        for ids in sent.chunks(500) {
            let mut sql = Sql::new(
                self.backend,
                "UPDATE deliveries SET state = 'sent', sent_at = ",
            );
            sql.bind(Param::Text(now.clone()))
                .push(", last_error = NULL WHERE id IN ");
            sql.bind_row(ids.iter().map(|id| Param::Int(*id)).collect());
            sqlx::query_with(sql.text(), sql.arguments())
                .execute(&self.pool)
                .await?;
        }
        for (delivery, outcome) in outcomes {
            match outcome {
                Outcome::Sent => {}
                Outcome::Retry(error) if delivery.attempts < MAX_ATTEMPTS => {
                    let next = format_time(Utc::now() + backoff(delivery.attempts));
                    self.mark_failed(delivery.id, "queued", &next, error)
                        .await?;
                }
                Outcome::Retry(error) | Outcome::Dead(error) => {
                    self.mark_failed(delivery.id, "dead", &now, error).await?;
                }
                Outcome::Gone(error) => {
                    self.mark_failed(delivery.id, "dead", &now, error).await?;
                    if let Some(subscription) = &delivery.subscription_id {
                        self.unsubscribe(&delivery.tenant_id, subscription).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn mark_failed(&self, id: i64, state: &str, next: &str, error: &str) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        sqlx::query(
            "UPDATE deliveries SET state = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
        )
        .bind(state)
        .bind(next)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A notice's deliveries per channel and state, for staff.
    pub async fn delivery_report(
        &self,
        tenant: &str,
        notice_id: &str,
    ) -> Result<Vec<ChannelReport>> {
        let rows = sqlx::query(
            "SELECT channel, state, CAST(CASE WHEN last_error IS NULL THEN 0 ELSE 1 END AS BIGINT) AS erred, COUNT(*) AS n \
             FROM deliveries WHERE tenant_id = $1 AND notice_id = $2 GROUP BY channel, state, erred ORDER BY channel",
        )
        .bind(tenant)
        .bind(notice_id)
        .fetch_all(&self.pool)
        .await?;
        let mut report: Vec<ChannelReport> = Vec::new();
        for row in rows {
            let channel: String = row.try_get("channel")?;
            let state: String = row.try_get("state")?;
            let erred: i64 = row.try_get("erred")?;
            let n: i64 = row.try_get("n")?;
            let index = match report.iter().position(|r| r.channel == channel) {
                Some(index) => index,
                None => {
                    report.push(ChannelReport {
                        channel,
                        ..ChannelReport::default()
                    });
                    report.len() - 1
                }
            };
            let entry = &mut report[index];
            match (state.as_str(), erred) {
                ("sent", _) => entry.sent += n,
                ("dead", _) => entry.dead += n,
                (_, 0) => entry.queued += n,
                _ => entry.retrying += n,
            }
        }
        Ok(report)
    }

    /// The newest dead letters of a city.
    pub async fn dead_letters(&self, tenant: &str, limit: i64) -> Result<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT id, notice_id, channel, address, attempts, last_error, created_at FROM deliveries \
             WHERE tenant_id = $1 AND state = 'dead' ORDER BY id DESC LIMIT $2",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    id: row.try_get("id")?,
                    notice_id: row.try_get("notice_id")?,
                    channel: row.try_get("channel")?,
                    address: row.try_get("address")?,
                    attempts: row.try_get("attempts")?,
                    last_error: row
                        .try_get::<Option<String>, _>("last_error")?
                        .unwrap_or_default(),
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Sends a dead letter again (staff fixed the cause). False when it is not a dead letter
    /// of this city.
    pub async fn retry_dead_letter(&self, tenant: &str, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'queued', attempts = 0, next_attempt_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND state = 'dead'",
        )
        .bind(now_text())
        .bind(tenant)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deliveries not sent yet on a channel, across cities (health checks, tests, benchmarks).
    pub async fn queued_deliveries(&self, channel: Channel) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'queued' AND channel = $1",
        )
        .bind(channel.as_str())
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(20), Duration::seconds(3600));
    }
}
