//! E-mail to one person (a status change, a sign-in link, an opt-in link). It is queued with
//! [`crate::deliveries::enqueue_direct`], in the transaction of the change it reports, and goes
//! out like every other message.

use crate::{Result, Store};

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// An e-mail with an iCalendar file attached (a booking's confirmation: the booking for the
/// resident's calendar app).
#[derive(Debug, Clone)]
pub struct MailWithCalendar {
    pub mail: OutgoingMail,
    pub calendar: String,
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
