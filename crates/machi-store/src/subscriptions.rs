//! えらべる化 as stored: a subscription is a channel and an address with the categories and
//! areas chosen. E-mail subscriptions wait for their double opt-in; the other channels are
//! proven by how they arrive (a browser's push subscription, a LINE follow event, a webhook's
//! answered challenge).

use machi_core::subscriptions::{Channel, Choices};
use sqlx::{Any, Row, Transaction};

use crate::mail::OutgoingMail;
use crate::notices::{joined, split};
use crate::sessions::random_token;
use crate::sql::{Param, Sql};
use crate::{now_text, Result, Store, StoreError};

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// A random token: the key of the manage and unsubscribe links.
    pub id: String,
    pub channel: Channel,
    pub address: String,
    /// The webhook's signing secret, or the browser's push keys as JSON.
    pub secret: String,
    pub choices: Choices,
    pub language: String,
    pub confirmed: bool,
}

/// A subscription to create.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub channel: Channel,
    pub address: String,
    pub secret: String,
    pub choices: Choices,
    pub language: String,
    /// False for e-mail, which waits for the link in the confirmation mail.
    pub confirmed: bool,
}

/// What creating a subscription did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribed {
    /// A new subscription.
    Created(Subscription),
    /// The address already had one on this channel, left as it was: its owner gets the
    /// confirmation (or manage) link again, so nobody can change another person's choices by
    /// typing their address.
    Existing(Subscription),
}

const COLUMNS: &str = "id, channel, address, secret, categories, areas, language, confirmed_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Subscription> {
    let channel: String = row.try_get("channel")?;
    Ok(Subscription {
        id: row.try_get("id")?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown channel '{channel}'")))?,
        address: row.try_get("address")?,
        secret: row.try_get("secret")?,
        choices: Choices {
            categories: split(&row.try_get::<String, _>("categories")?),
            areas: split(&row.try_get::<String, _>("areas")?),
        },
        language: row.try_get("language")?,
        confirmed: row.try_get::<Option<String>, _>("confirmed_at")?.is_some(),
    })
}

async fn by_address(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    channel: Channel,
    address: &str,
) -> Result<Option<Subscription>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND channel = $2 AND address = $3"
    ))
    .bind(tenant)
    .bind(channel.as_str())
    .bind(address)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts the subscription, or finds the one its address already has on that channel. Writing
/// first makes SQLite take the write lock at the start (a read first could not be upgraded once
/// a worker had written meanwhile).
async fn insert_or_find(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    new: &NewSubscription,
) -> Result<Subscribed> {
    let id = random_token();
    let now = now_text();
    let inserted = sqlx::query(
        "INSERT INTO subscriptions (tenant_id, id, channel, address, secret, categories, areas, \
         language, confirmed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, channel, address) DO NOTHING",
    )
    .bind(tenant)
    .bind(&id)
    .bind(new.channel.as_str())
    .bind(&new.address)
    .bind(&new.secret)
    .bind(joined(&new.choices.categories))
    .bind(joined(&new.choices.areas))
    .bind(&new.language)
    .bind(new.confirmed.then(|| now.clone()))
    .bind(&now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(if inserted == 1 {
        Subscribed::Created(Subscription {
            id,
            channel: new.channel,
            address: new.address.clone(),
            secret: new.secret.clone(),
            choices: new.choices.clone(),
            language: new.language.clone(),
            confirmed: new.confirmed,
        })
    } else {
        let existing = by_address(tx, tenant, new.channel, &new.address)
            .await?
            .ok_or_else(|| {
                StoreError::conflict(
                    "この登録はたった今解除されました。もう一度お試しください。",
                    "the subscription was just removed",
                )
            })?;
        Subscribed::Existing(existing)
    })
}

/// Deletes the subscription of an address on a channel and what was still queued for it.
async fn delete_by_address(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    channel: Channel,
    address: &str,
) -> Result<bool> {
    sqlx::query(
        "DELETE FROM deliveries WHERE tenant_id = $1 AND state = 'queued' AND subscription_id IN \
         (SELECT id FROM subscriptions WHERE tenant_id = $1 AND channel = $2 AND address = $3)",
    )
    .bind(tenant)
    .bind(channel.as_str())
    .bind(address)
    .execute(&mut **tx)
    .await?;
    let removed = sqlx::query(
        "DELETE FROM subscriptions WHERE tenant_id = $1 AND channel = $2 AND address = $3",
    )
    .bind(tenant)
    .bind(channel.as_str())
    .bind(address)
    .execute(&mut **tx)
    .await?;
    Ok(removed.rows_affected() == 1)
}

impl Store {
    /// Creates a subscription, or finds the one the address already has on that channel. The
    /// mail `welcome` writes for the result (the opt-in link, say) is queued in the same
    /// transaction, so a subscriber never waits for a mail that was lost.
    pub async fn subscribe(
        &self,
        tenant: &str,
        new: &NewSubscription,
        welcome: impl FnOnce(&Subscribed) -> Option<OutgoingMail>,
    ) -> Result<Subscribed> {
        let mut tx = self.pool.begin().await?;
        let outcome = insert_or_find(&mut tx, tenant, new).await?;
        if let Some(mail) = welcome(&outcome) {
            crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Replaces a browser's or a LINE user's subscription: the same endpoint or user id
    /// subscribing again is the same person changing their mind.
    /// The old subscription goes and the new one comes in one transaction.
    pub async fn resubscribe(&self, tenant: &str, new: &NewSubscription) -> Result<Subscription> {
        let mut tx = self.pool.begin().await?;
        delete_by_address(&mut tx, tenant, new.channel, &new.address).await?;
        let outcome = insert_or_find(&mut tx, tenant, new).await?;
        tx.commit().await?;
        match outcome {
            Subscribed::Created(created) | Subscribed::Existing(created) => Ok(created),
        }
    }

    pub async fn subscription(&self, tenant: &str, id: &str) -> Result<Option<Subscription>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The double opt-in: the link in the confirmation mail was followed. Returns false for an
    /// unknown (or since deleted) subscription.
    pub async fn confirm_subscription(&self, tenant: &str, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE subscriptions SET confirmed_at = COALESCE(confirmed_at, $1) WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now_text())
        .bind(tenant)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn change_subscription(
        &self,
        tenant: &str,
        id: &str,
        choices: &Choices,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE subscriptions SET categories = $1, areas = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(joined(&choices.categories))
        .bind(joined(&choices.areas))
        .bind(tenant)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends a subscription and drops what was still queued for it. Returns false when there was
    /// nothing to end (unsubscribing twice is not an error for the resident).
    pub async fn unsubscribe(&self, tenant: &str, id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let removed = delete(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Ends the subscription of an address on a channel (a LINE user blocked the account).
    pub async fn unsubscribe_address(
        &self,
        tenant: &str,
        channel: Channel,
        address: &str,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let removed = delete_by_address(&mut tx, tenant, channel, address).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Takes over the subscribers of a city's previous system, all or nothing, in one
    /// transaction; addresses already subscribed keep what they have. Returns how many were new.
    pub async fn import_subscriptions(
        &self,
        tenant: &str,
        subscriptions: &[NewSubscription],
    ) -> Result<u64> {
        let now = now_text();
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        // 10 parameters a row; SQLite takes 32,766 per statement.
        for chunk in subscriptions.chunks(1000) {
            let mut sql = Sql::new(
                self.backend,
                "INSERT INTO subscriptions (tenant_id, id, channel, address, secret, categories, areas, \
                 language, confirmed_at, created_at) VALUES ",
            );
            for (i, new) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_row(vec![
                    Param::Text(tenant.into()),
                    Param::Text(random_token()),
                    Param::Text(new.channel.as_str().into()),
                    Param::Text(new.address.clone()),
                    Param::Text(new.secret.clone()),
                    Param::Text(joined(&new.choices.categories)),
                    Param::Text(joined(&new.choices.areas)),
                    Param::Text(new.language.clone()),
                    if new.confirmed {
                        Param::Text(now.clone())
                    } else {
                        Param::NullText
                    },
                    Param::Text(now.clone()),
                ]);
            }
            sql.push(" ON CONFLICT DO NOTHING");
            added += sqlx::query_with(sql.text(), sql.arguments())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Confirmed subscribers per channel (for staff and the plan KPIs).
    pub async fn subscriber_counts(&self, tenant: &str) -> Result<Vec<(Channel, i64)>> {
        let rows = sqlx::query(
            "SELECT channel, COUNT(*) AS n FROM subscriptions WHERE tenant_id = $1 AND confirmed_at IS NOT NULL \
             GROUP BY channel",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = Vec::new();
        for row in rows {
            let channel: String = row.try_get("channel")?;
            if let Some(channel) = Channel::parse(&channel) {
                counts.push((channel, row.try_get("n")?));
            }
        }
        Ok(counts)
    }
}

async fn delete(tx: &mut Transaction<'_, Any>, tenant: &str, id: &str) -> Result<bool> {
    sqlx::query(
        "DELETE FROM deliveries WHERE tenant_id = $1 AND subscription_id = $2 AND state = 'queued'",
    )
    .bind(tenant)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    let removed = sqlx::query("DELETE FROM subscriptions WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(removed.rows_affected() == 1)
}
