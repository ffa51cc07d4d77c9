//! 申請の保存と照会: applications are taken in through a group-commit writer ([`intake`]) and
//! read back by receipt number and access code ([`lookup`]).

mod intake;
mod lookup;
mod search;

pub(crate) use intake::IntakeHandle;
pub use intake::{IntakeError, NewApplication, NewAttachment, Receipt, RECEIPT_PLACEHOLDER};
pub use lookup::{ApplicationView, StatusEvent, StoredAttachment};
pub(crate) use search::{
    index_answers, index_backlog, push_postgres_answer_source, push_single_characters,
    push_sqlite_answer_probe, push_sqlite_answer_source, sqlite_matches_up_to, AnswersToIndex,
    Seen,
};

use machi_core::receipt::AccessCode;
use sha2::{Digest, Sha256};

use sqlx::AnyPool;

use crate::{Result, Store};

impl Store {
    /// A per-deployment secret (made on first use, shared by every node), e.g. for signing.
    pub async fn secret(&self, name: &str) -> Result<String> {
        instance_secret(&self.pool, name).await
    }

    /// The access code an idempotent request gets: derived from a per-deployment secret and the
    /// key, so that a retry with the same key gets the same code while only its digest is stored.
    pub fn idempotent_access_code(&self, tenant: &str, key: &str) -> AccessCode {
        let mut hasher = Sha256::new();
        for part in [
            self.idempotency_secret.as_bytes(),
            tenant.as_bytes(),
            key.as_bytes(),
        ] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        AccessCode::from_seed(&hasher.finalize().into())
    }
}

/// A random secret kept in the database, made on first use and shared by every node; read
/// once when the store opens.
pub(crate) async fn instance_secret(pool: &AnyPool, name: &str) -> Result<String> {
    let fresh: String = (0..4)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect();
    sqlx::query(
        "INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(fresh)
    .execute(pool)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?,
    )
}
