//! パスキー (passkeys) of staff accounts, and the WebAuthn ceremonies in progress.
//!
//! The store keeps what the web crate's WebAuthn library hands it as opaque JSON: a registered
//! passkey (public key and signature counter) and a ceremony's state (its challenge). A
//! ceremony lives [`CEREMONY_MINUTES`] and is deleted by the statement that reads it, so a
//! challenge can be answered once only, by whichever node gets the second request. Adding and
//! removing a passkey commit together with their audit entry.

use chrono::{Duration, Utc};
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::sessions::random_token;
use crate::users::LoginOutcome;
use crate::{format_time, now_text, Result, Store, StoreError};

/// How long a started registration or sign-in may take to finish.
pub const CEREMONY_MINUTES: i64 = 5;

/// Which of the two ceremonies a state belongs to (a sign-in state cannot finish a
/// registration, nor the other way round).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Register,
    Login,
}

impl Ceremony {
    fn as_str(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::Login => "login",
        }
    }
}

/// A passkey to store after a finished registration.
#[derive(Debug, Clone)]
pub struct NewPasskey<'a> {
    pub email: &'a str,
    /// The credential id, hex.
    pub credential_id: &'a str,
    pub user_handle: &'a str,
    /// The name its owner gave it (e.g. 事務室のパソコン).
    pub name: &'a str,
    /// The library's `Passkey`, serialised.
    pub passkey: &'a str,
}

/// A stored passkey.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PasskeyRecord {
    pub credential_id: String,
    pub email: String,
    pub user_handle: String,
    pub name: String,
    pub passkey: String,
    pub created_at: crate::Time,
    pub last_used_at: Option<crate::Time>,
}

const COLUMNS: &str = "credential_id, email, user_handle, name, passkey, created_at, last_used_at";

impl Store {
    /// Keeps a ceremony's state for [`CEREMONY_MINUTES`]; returns its id (256 random bits).
    /// Expired ceremonies of every city are swept here, so abandoned ones do not pile up.
    pub async fn start_ceremony(
        &self,
        tenant: &str,
        kind: Ceremony,
        email: Option<&str>,
        state: &str,
    ) -> Result<String> {
        let now = Utc::now();
        sqlx::query("DELETE FROM staff_passkey_ceremonies WHERE expires_at < $1")
            .bind(format_time(now))
            .execute(&self.pool)
            .await?;
        let id = random_token();
        sqlx::query(
            "INSERT INTO staff_passkey_ceremonies (id, tenant_id, kind, email, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(tenant)
        .bind(kind.as_str())
        .bind(email)
        .bind(state)
        .bind(format_time(now + Duration::minutes(CEREMONY_MINUTES)))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Takes a ceremony's state out (deleting it); `None` when it is unknown, used, expired,
    /// of the other kind or of another person.
    pub async fn take_ceremony(
        &self,
        tenant: &str,
        id: &str,
        kind: Ceremony,
        email: Option<&str>,
    ) -> Result<Option<String>> {
        let owner = match email {
            Some(_) => "email = $4",
            None => "email IS NULL",
        };
        let sql = format!(
            "DELETE FROM staff_passkey_ceremonies \
             WHERE id = $1 AND tenant_id = $2 AND kind = $3 AND {owner} RETURNING state, expires_at"
        );
        let mut query = sqlx::query(&sql).bind(id).bind(tenant).bind(kind.as_str());
        if let Some(email) = email {
            query = query.bind(email);
        }
        let Some(row) = query.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let expires: String = row.try_get("expires_at")?;
        if expires <= now_text() {
            return Ok(None);
        }
        Ok(Some(row.try_get("state")?))
    }

    /// Every passkey of one account, oldest first.
    pub async fn passkeys(&self, tenant: &str, email: &str) -> Result<Vec<PasskeyRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM staff_passkeys WHERE tenant_id = $1 AND email = $2 \
             ORDER BY created_at, credential_id"
        ))
        .bind(tenant)
        .bind(email)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crate::typed).collect()
    }

    /// The passkey with this credential id in this city, whoever owns it.
    pub async fn passkey(
        &self,
        tenant: &str,
        credential_id: &str,
    ) -> Result<Option<PasskeyRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM staff_passkeys WHERE tenant_id = $1 AND credential_id = $2"
        ))
        .bind(tenant)
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(crate::typed).transpose()
    }

    /// Stores a registered passkey with its audit entry; a credential already registered in
    /// this city is a conflict.
    pub async fn add_passkey(
        &self,
        tenant: &str,
        passkey: &NewPasskey<'_>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        let inserted = sqlx::query(
            "INSERT INTO staff_passkeys (tenant_id, credential_id, email, user_handle, name, passkey, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, credential_id) DO NOTHING",
        )
        .bind(tenant)
        .bind(passkey.credential_id)
        .bind(passkey.email)
        .bind(passkey.user_handle)
        .bind(passkey.name)
        .bind(passkey.passkey)
        .bind(now_text())
        .execute(&mut *tx.tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::conflict(
                "このパスキーはすでに登録されています。",
                "this passkey is already registered",
            ));
        }
        tx.append(audit).await?;
        tx.commit().await
    }

    /// Removes one of this person's passkeys with its audit entry; `false` when they have no
    /// passkey of that id.
    pub async fn remove_passkey(
        &self,
        tenant: &str,
        email: &str,
        credential_id: &str,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin_audited(tenant).await?;
        let removed = sqlx::query(
            "DELETE FROM staff_passkeys WHERE tenant_id = $1 AND email = $2 AND credential_id = $3",
        )
        .bind(tenant)
        .bind(email)
        .bind(credential_id)
        .execute(&mut *tx.tx)
        .await?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        tx.append(audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Notes a sign-in with a passkey: its new state (signature counter) and the time.
    pub async fn passkey_used(
        &self,
        tenant: &str,
        credential_id: &str,
        passkey: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE staff_passkeys SET passkey = $1, last_used_at = $2 \
             WHERE tenant_id = $3 AND credential_id = $4",
        )
        .bind(passkey)
        .bind(now_text())
        .bind(tenant)
        .bind(credential_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the owner of a verified passkey may sign in: a disabled account is refused and
    /// a locked one stays locked. Failed password attempts are not reset here, so that the
    /// owner's passkey sign-ins do not give someone guessing the password fresh tries.
    pub async fn passkey_account(&self, tenant: &str, email: &str) -> Result<LoginOutcome> {
        let row = sqlx::query(
            "SELECT email, display_name, role, department_code, disabled, locked_until \
             FROM users WHERE tenant_id = $1 AND email = $2",
        )
        .bind(tenant)
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(LoginOutcome::Refused);
        };
        if let Some(until) = row.try_get::<Option<String>, _>("locked_until")? {
            if until > now_text() {
                return Ok(LoginOutcome::Locked { until });
            }
        }
        let user = crate::users::user_from_row(&row)?;
        Ok(if user.disabled {
            LoginOutcome::Refused
        } else {
            LoginOutcome::Accepted(user)
        })
    }
}
