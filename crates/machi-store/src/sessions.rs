//! 職員のログインセッション. The browser holds a random token; the database holds only its
//! SHA-256, so a copy of the database cannot be used to sign in. A session ends after
//! [`IDLE_MINUTES`] without use or [`ABSOLUTE_HOURS`] after sign-in, whichever comes first.

use chrono::{Duration, Utc};
use machi_core::digest::sha256_hex;
use sqlx::Row;

use crate::users::StaffUser;
use crate::{format_time, Result, Store};

pub const IDLE_MINUTES: i64 = 30;
pub const ABSOLUTE_HOURS: i64 = 12;
/// A session's last use is written at most this often, not on every page.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub user: StaffUser,
    pub csrf_token: String,
    /// SHA-256 of the cookie token (identifies the session for sign-out).
    pub id_sha256: String,
}

/// 256 random bits, hex.
pub fn random_token() -> String {
    (0..4)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect()
}

impl Store {
    /// Starts a session; returns the token for the cookie and the session's CSRF token.
    pub async fn start_session(&self, tenant: &str, email: &str) -> Result<(String, String)> {
        let token = random_token();
        let csrf = random_token();
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO staff_sessions (id_sha256, tenant_id, email, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(tenant)
        .bind(email)
        .bind(&csrf)
        .bind(format_time(now))
        .bind(format_time(now))
        .bind(format_time(now + Duration::hours(ABSOLUTE_HOURS)))
        .execute(&self.pool)
        .await?;
        Ok((token, csrf))
    }

    /// The live session of this token in this city, if any; notes its use.
    pub async fn session(&self, tenant: &str, token: &str) -> Result<Option<StaffSession>> {
        let id = sha256_hex(token.as_bytes());
        let row = sqlx::query(
            "SELECT u.email, u.display_name, u.role, u.department_code, u.disabled, \
             s.csrf_token, s.last_seen_at, s.expires_at \
             FROM staff_sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.email = s.email \
             WHERE s.id_sha256 = $1 AND s.tenant_id = $2",
        )
        .bind(&id)
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let now = Utc::now();
        let last_seen: String = row.try_get("last_seen_at")?;
        let expires: String = row.try_get("expires_at")?;
        let idle_since = format_time(now - Duration::minutes(IDLE_MINUTES));
        let user = crate::users::user_from_row(&row)?;
        if expires <= format_time(now) || last_seen <= idle_since || user.disabled {
            self.end_session(&id).await?;
            return Ok(None);
        }
        if last_seen <= format_time(now - Duration::seconds(TOUCH_EVERY_SECONDS)) {
            sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
                .bind(format_time(now))
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(StaffSession {
            user,
            csrf_token: row.try_get("csrf_token")?,
            id_sha256: id,
        }))
    }

    pub async fn end_session(&self, id_sha256: &str) -> Result<()> {
        sqlx::query("DELETE FROM staff_sessions WHERE id_sha256 = $1")
            .bind(id_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Signs the account out on every device; returns how many sessions ended.
    pub async fn end_all_sessions(&self, tenant: &str, email: &str) -> Result<u64> {
        let ended = sqlx::query("DELETE FROM staff_sessions WHERE tenant_id = $1 AND email = $2")
            .bind(tenant)
            .bind(email)
            .execute(&self.pool)
            .await?;
        Ok(ended.rows_affected())
    }
}
