//! メール送信の outbox: a message to send is a row committed with the change it reports; a
//! worker on any node claims due rows, sends them and marks them sent. A claim is a lease
//! (the row's next attempt moves into the future), so a node that dies mid-send only delays
//! the message; the SMTP server may then see it twice, never zero times.

use chrono::{Duration, Utc};
use sqlx::{Any, Row, Transaction};

use crate::{format_time, now_text, Result, Store};

/// Attempts before a message is given up and left for staff to see.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a claimed message is left alone by other workers.
const LEASE_SECONDS: i64 = 120;
/// `next_attempt_at` of a message given up on (sorts after every real time).
const NEVER: &str = "9999-12-31T00:00:00.000000Z";

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// A message taken from the outbox by a worker.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub tenant_id: String,
    pub attempts: i64,
    pub mail: OutgoingMail,
}

pub(crate) async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    mail: &OutgoingMail,
) -> Result<()> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO mail_outbox (tenant_id, recipient, subject, body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant)
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(&now)
    .bind(&now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Waits between attempts: 30 s, 1 min, 2 min … capped at an hour.
fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.clamp(1, 8) - 1;
    Duration::seconds((30_i64 << doublings).min(3600))
}

impl Store {
    /// Claims up to `limit` messages that are due.
    pub async fn claim_mail(&self, limit: i64) -> Result<Vec<QueuedMail>> {
        let now = Utc::now();
        let due = sqlx::query(
            "SELECT id, tenant_id, recipient, subject, body, attempts, next_attempt_at FROM mail_outbox \
             WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(format_time(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let lease_until = format_time(now + Duration::seconds(LEASE_SECONDS));
        let mut claimed = Vec::new();
        for row in due {
            let id: i64 = row.try_get("id")?;
            let seen: String = row.try_get("next_attempt_at")?;
            let taken = sqlx::query(
                "UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND next_attempt_at = $3 AND sent_at IS NULL",
            )
            .bind(&lease_until)
            .bind(id)
            .bind(&seen)
            .execute(&self.pool)
            .await?;
            if taken.rows_affected() == 1 {
                claimed.push(QueuedMail {
                    id,
                    tenant_id: row.try_get("tenant_id")?,
                    attempts: row.try_get::<i64, _>("attempts")? + 1,
                    mail: OutgoingMail {
                        recipient: row.try_get("recipient")?,
                        subject: row.try_get("subject")?,
                        body: row.try_get("body")?,
                    },
                });
            }
        }
        Ok(claimed)
    }

    pub async fn mail_sent(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET sent_at = $1, last_error = NULL WHERE id = $2")
            .bind(now_text())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed attempt and when to try again (or that it is given up).
    pub async fn mail_failed(&self, queued: &QueuedMail, error: &str) -> Result<()> {
        let next = if queued.attempts >= MAX_ATTEMPTS {
            NEVER.to_string()
        } else {
            format_time(Utc::now() + backoff(queued.attempts))
        };
        sqlx::query("UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3")
            .bind(next)
            .bind(error)
            .bind(queued.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Messages not yet sent (for health checks and tests).
    pub async fn unsent_mail(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
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
