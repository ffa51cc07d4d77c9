//! E-mail to one person (a status change, a sign-in link, an opt-in link). It goes through the
//! delivery outbox ([`crate::deliveries`]) like every other message: committed with the change
//! it reports, sent by the workers, retried with backoff.

use sqlx::{Any, Transaction};

use crate::{Result, Store};

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

pub(crate) async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    mail: &OutgoingMail,
) -> Result<()> {
    crate::deliveries::enqueue_direct(tx, tenant, mail).await
}

impl Store {
    /// E-mail to one person not sent yet (for health checks and tests).
    pub async fn unsent_mail(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'queued' AND channel = 'email' AND notice_id IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
