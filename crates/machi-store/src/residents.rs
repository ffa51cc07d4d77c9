//! 住民アカウント: residents who choose to sign in (by an e-mailed one-time link or an OpenID
//! Connect provider such as the national デジタル認証アプリ), their profile for prefilling forms,
//! their sessions, and their applications.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use machi_core::applications::Status;
use machi_core::digest::sha256_hex;
use sqlx::Row;

use crate::mail::OutgoingMail;
use crate::sessions::random_token;
use crate::{format_time, now_text, Result, Store, StoreError};

/// How long a resident stays signed in.
pub const SESSION_HOURS: i64 = 24;
/// How long an e-mailed sign-in link works.
pub const LINK_MINUTES: i64 = 15;
/// Sign-in links one address may be sent per hour.
pub const LINKS_PER_HOUR: i64 = 5;
/// Sign-in links one client (network address) may ask for per hour, to any addresses: enough
/// for a family or a library's shared terminal, too few to mail a list of strangers.
pub const LINKS_PER_CLIENT_HOUR: i64 = 20;
/// How long an OpenID Connect sign-in may take.
const OIDC_MINUTES: i64 = 10;

/// A signed-in resident.
#[derive(Debug, Clone)]
pub struct ResidentSession {
    pub resident_id: String,
    pub email: Option<String>,
    pub csrf_token: String,
    pub id_sha256: String,
}

/// The profile that prefills forms: personal answer key (see
/// `machi_core::life_events::PERSONAL_KEYS`) → canonical value.
pub type Profile = BTreeMap<String, String>;

/// One of a resident's applications.
#[derive(Debug, Clone)]
pub struct MyApplication {
    pub receipt_number: String,
    pub procedure_id: String,
    pub status: Status,
    pub submitted_at: crate::Time,
}

/// An OpenID Connect sign-in under way.
#[derive(Debug, Clone)]
pub struct PendingOidc {
    pub nonce: String,
    pub pkce_verifier: String,
}

impl Store {
    /// Sends (queues) a one-time sign-in link, unless the address, or the client asking
    /// (`client`, its network address when known), had too many this hour. Returns false when
    /// throttled.
    pub async fn send_login_link(
        &self,
        tenant: &str,
        email: &str,
        client: Option<&str>,
        link_base: &str,
        city_name: &str,
    ) -> Result<bool> {
        let email = email.trim().to_lowercase();
        let client_sha256 = client.map(|c| sha256_hex(c.as_bytes()));
        let hour_ago = format_time(Utc::now() - Duration::hours(1));
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM resident_login_links WHERE tenant_id = $1 AND email = $2 AND created_at > $3",
        )
        .bind(tenant)
        .bind(&email)
        .bind(&hour_ago)
        .fetch_one(&self.pool)
        .await?;
        if recent >= LINKS_PER_HOUR {
            return Ok(false);
        }
        if let Some(client_sha256) = &client_sha256 {
            let from_client: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM resident_login_links WHERE client_sha256 = $1 AND created_at > $2",
            )
            .bind(client_sha256)
            .bind(&hour_ago)
            .fetch_one(&self.pool)
            .await?;
            if from_client >= LINKS_PER_CLIENT_HOUR {
                return Ok(false);
            }
        }
        sqlx::query("DELETE FROM resident_login_links WHERE created_at < $1")
            .bind(format_time(Utc::now() - Duration::days(1)))
            .execute(&self.pool)
            .await?;
        let token = random_token();
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO resident_login_links \
             (token_sha256, tenant_id, email, created_at, expires_at, client_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(tenant)
        .bind(&email)
        .bind(format_time(now))
        .bind(format_time(now + Duration::minutes(LINK_MINUTES)))
        .bind(&client_sha256)
        .execute(&mut *tx)
        .await?;
        let mail = OutgoingMail {
            recipient: email.clone(),
            subject: format!("【{city_name}】ログイン用のリンク"),
            body: format!(
                "{city_name}のオンライン手続にログインするには、{LINK_MINUTES}分以内に次のリンクを開き、「ログインする」を押してください。\n\n\
                 {link_base}/account/link/{token}\n\n\
                 心当たりがない場合は、このメールを無視してください。\n\n---\n\
                 To sign in to {city_name}'s online services, open the link above within {LINK_MINUTES} minutes and press \"Sign in\".\n\
                 If you did not ask for it, ignore this message.\n"
            ),
        };
        crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Uses a sign-in link (once, before it expires): the resident with that address, made
    /// on first use.
    pub async fn use_login_link(&self, tenant: &str, token: &str) -> Result<Option<String>> {
        // Used up by moving its expiry into the past in the same statement that reads it; the
        // row stays (for an hour's counting) so used links still count against the limit.
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE resident_login_links SET expires_at = created_at \
             WHERE token_sha256 = $1 AND tenant_id = $2 AND expires_at > $3 RETURNING email",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(tenant)
        .bind(now_text())
        .fetch_optional(&self.pool)
        .await?;
        let Some(email) = email else { return Ok(None) };
        self.resident_by_email(tenant, &email).await.map(Some)
    }

    async fn resident_by_email(&self, tenant: &str, email: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO residents (tenant_id, id, email, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, email) WHERE email IS NOT NULL DO NOTHING",
        )
        .bind(tenant)
        .bind(format!("r_{}", &random_token()[..24]))
        .bind(email)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT id FROM residents WHERE tenant_id = $1 AND email = $2")
                .bind(tenant)
                .bind(email)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The resident an OpenID Connect identity belongs to, made on first sign-in. An e-mail
    /// the provider vouches for links to the account already using it.
    pub async fn resident_by_identity(
        &self,
        tenant: &str,
        issuer: &str,
        subject: &str,
        verified_email: Option<&str>,
    ) -> Result<String> {
        let known: Option<String> = sqlx::query_scalar(
            "SELECT resident_id FROM resident_identities WHERE tenant_id = $1 AND issuer = $2 AND subject = $3",
        )
        .bind(tenant)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = known {
            return Ok(id);
        }
        let resident = match verified_email {
            Some(email) => {
                self.resident_by_email(tenant, &email.trim().to_lowercase())
                    .await?
            }
            None => {
                let id = format!("r_{}", &random_token()[..24]);
                sqlx::query(
                    "INSERT INTO residents (tenant_id, id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(tenant)
                .bind(&id)
                .bind(now_text())
                .execute(&self.pool)
                .await?;
                id
            }
        };
        sqlx::query(
            "INSERT INTO resident_identities (tenant_id, issuer, subject, resident_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, issuer, subject) DO NOTHING",
        )
        .bind(tenant)
        .bind(issuer)
        .bind(subject)
        .bind(&resident)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar(
            "SELECT resident_id FROM resident_identities WHERE tenant_id = $1 AND issuer = $2 AND subject = $3",
        )
        .bind(tenant)
        .bind(issuer)
        .bind(subject)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Starts a resident session; returns the cookie token.
    pub async fn start_resident_session(&self, tenant: &str, resident_id: &str) -> Result<String> {
        let token = random_token();
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO resident_sessions (id_sha256, tenant_id, resident_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(tenant)
        .bind(resident_id)
        .bind(random_token())
        .bind(format_time(now))
        .bind(format_time(now + Duration::hours(SESSION_HOURS)))
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    pub async fn resident_session(
        &self,
        tenant: &str,
        token: &str,
    ) -> Result<Option<ResidentSession>> {
        let id = sha256_hex(token.as_bytes());
        let row = sqlx::query(
            "SELECT s.resident_id, s.csrf_token, r.email FROM resident_sessions s \
             JOIN residents r ON r.tenant_id = s.tenant_id AND r.id = s.resident_id \
             WHERE s.id_sha256 = $1 AND s.tenant_id = $2 AND s.expires_at > $3",
        )
        .bind(&id)
        .bind(tenant)
        .bind(now_text())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ResidentSession {
            resident_id: row.try_get("resident_id")?,
            email: row.try_get("email")?,
            csrf_token: row.try_get("csrf_token")?,
            id_sha256: id,
        }))
    }

    pub async fn end_resident_session(&self, id_sha256: &str) -> Result<()> {
        sqlx::query("DELETE FROM resident_sessions WHERE id_sha256 = $1")
            .bind(id_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn profile(&self, tenant: &str, resident_id: &str) -> Result<Profile> {
        let text: Option<String> = sqlx::query_scalar(
            "SELECT profile FROM resident_profiles WHERE tenant_id = $1 AND resident_id = $2",
        )
        .bind(tenant)
        .bind(resident_id)
        .fetch_optional(&self.pool)
        .await?;
        match text {
            Some(text) => crate::procedures::parse_json(&text),
            None => Ok(Profile::new()),
        }
    }

    pub async fn save_profile(
        &self,
        tenant: &str,
        resident_id: &str,
        profile: &Profile,
    ) -> Result<()> {
        let text =
            serde_json::to_string(profile).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO resident_profiles (tenant_id, resident_id, profile, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, resident_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(resident_id)
        .bind(text)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A resident's applications, newest first.
    pub async fn my_applications(
        &self,
        tenant: &str,
        resident_id: &str,
    ) -> Result<Vec<MyApplication>> {
        let rows = sqlx::query(
            "SELECT receipt_number, procedure_id, status, submitted_at FROM applications \
             WHERE tenant_id = $1 AND resident_id = $2 ORDER BY submitted_at DESC LIMIT 200",
        )
        .bind(tenant)
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(MyApplication {
                    receipt_number: row.try_get("receipt_number")?,
                    procedure_id: row.try_get("procedure_id")?,
                    status: Status::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown status '{status}'")))?,
                    submitted_at: row.try_get("submitted_at")?,
                })
            })
            .collect()
    }

    /// One application of this resident (with history), as the status page shows it.
    pub async fn my_application(
        &self,
        tenant: &str,
        resident_id: &str,
        receipt_number: &str,
    ) -> Result<Option<crate::ApplicationView>> {
        let digest: Option<String> = sqlx::query_scalar(
            "SELECT access_code_sha256 FROM applications WHERE tenant_id = $1 AND receipt_number = $2 AND resident_id = $3",
        )
        .bind(tenant)
        .bind(receipt_number)
        .bind(resident_id)
        .fetch_optional(&self.pool)
        .await?;
        match digest {
            Some(digest) => self.application(tenant, receipt_number, &digest).await,
            None => Ok(None),
        }
    }

    /// Remembers an OpenID Connect sign-in under way.
    pub async fn begin_oidc(&self, tenant: &str, state: &str, pending: &PendingOidc) -> Result<()> {
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO oidc_logins (state, tenant_id, nonce, pkce_verifier, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(state)
        .bind(tenant)
        .bind(&pending.nonce)
        .bind(&pending.pkce_verifier)
        .bind(format_time(now))
        .bind(format_time(now + Duration::minutes(OIDC_MINUTES)))
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at <= $1")
            .bind(format_time(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes (once) the sign-in under way for `state`, unless it expired.
    pub async fn finish_oidc(&self, tenant: &str, state: &str) -> Result<Option<PendingOidc>> {
        let row = sqlx::query(
            "DELETE FROM oidc_logins WHERE state = $1 AND tenant_id = $2 RETURNING nonce, pkce_verifier, expires_at",
        )
        .bind(state)
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<String, _>("expires_at")? <= now_text() {
            return Ok(None);
        }
        Ok(Some(PendingOidc {
            nonce: row.try_get("nonce")?,
            pkce_verifier: row.try_get("pkce_verifier")?,
        }))
    }
}
