//! 職員アカウント (staff accounts). Passwords are hashed with argon2id; nothing else here
//! ever sees a password. Repeated wrong passwords lock the account for a while, counted in
//! the database so every node behind the load balancer sees the same count.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use chrono::{Duration, Utc};
use machi_core::staff::Role;
use sqlx::Row;

use crate::{format_time, now_text, Result, Store, StoreError};

/// Wrong passwords in a row before the account is locked.
pub const FAILURES_BEFORE_LOCK: i64 = 5;
/// How long the first lock lasts; each further failure doubles it, up to a day.
const FIRST_LOCK_MINUTES: i64 = 15;

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub tenant_id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub department_code: Option<&'a str>,
}

/// A staff account as the console sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub department_code: Option<String>,
    pub disabled: bool,
}

/// What a sign-in attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Accepted(StaffUser),
    /// Unknown e-mail or wrong password (deliberately the same answer).
    Refused,
    /// Too many wrong passwords; try again after this time.
    Locked {
        until: String,
    },
}

/// A change an administrator makes to an account.
#[derive(Debug, Clone)]
pub struct UserChange<'a> {
    pub role: Role,
    pub department_code: Option<&'a str>,
    pub disabled: bool,
}

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StoreError::NotStored(format!("password could not be hashed: {e}")))?
        .to_string())
}

/// Whether `password` matches `hash`; run on a blocking thread (argon2 takes tens of ms on
/// purpose). An unknown account is checked against a throwaway hash so that it takes as long.
async fn password_matches(password: &str, hash: Option<String>) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let hash = match hash {
            Some(hash) => hash,
            None => hash_password("machi-unknown-account").unwrap_or_default(),
        };
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

fn role_of(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown role '{text}'")))
}

pub(crate) fn user_from_row(row: &sqlx::any::AnyRow) -> Result<StaffUser> {
    Ok(StaffUser {
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: role_of(&row.try_get::<String, _>("role")?)?,
        department_code: row.try_get("department_code")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

/// Checks that a role has the department it needs: everyone but the auditor and the CIO
/// works for a department.
fn check_department(role: Role, department: Option<&str>) -> Result<()> {
    if department.is_none() && !matches!(role, Role::Auditor | Role::Cio) {
        return Err(StoreError::invalid(
            "この役割には所属課が必要です。",
            format!("role '{}' needs a department", role.as_str()),
        ));
    }
    Ok(())
}

impl Store {
    /// Creates a staff account; refuses a duplicate e-mail in the same city.
    pub async fn create_user(&self, user: &NewUser<'_>, password: &str) -> Result<()> {
        let role = Role::parse(user.role).ok_or_else(|| {
            StoreError::invalid(
                "役割が正しくありません。",
                format!(
                    "unknown role '{}': use one of admin, manager, staff, counter, auditor, cio",
                    user.role
                ),
            )
        })?;
        check_department(role, user.department_code)?;
        if let Some(code) = user.department_code {
            self.require_department(user.tenant_id, code).await?;
        }
        let hash = hash_password(password)?;
        let inserted = sqlx::query(
            "INSERT INTO users (tenant_id, email, display_name, role, department_code, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, email) DO NOTHING",
        )
        .bind(user.tenant_id)
        .bind(user.email.trim().to_lowercase())
        .bind(user.display_name)
        .bind(role.as_str())
        .bind(user.department_code)
        .bind(hash)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::conflict(
                format!(
                    "メールアドレス {} の職員はすでに登録されています。",
                    user.email
                ),
                format!("a user with e-mail {} already exists", user.email),
            ));
        }
        Ok(())
    }

    async fn require_department(&self, tenant: &str, code: &str) -> Result<()> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT code FROM departments WHERE tenant_id = $1 AND code = $2")
                .bind(tenant)
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::invalid(
                format!("所属課コード「{code}」はありません。手続一覧にある課のコードを指定してください。"),
                format!(
                    "unknown department '{code}': import the catalog first or use a department code it names"
                ),
            )),
        }
    }

    /// Checks an e-mail and password, counting failures and locking after too many.
    pub async fn check_login(
        &self,
        tenant: &str,
        email: &str,
        password: &str,
    ) -> Result<LoginOutcome> {
        let email = email.trim().to_lowercase();
        let row = sqlx::query(
            "SELECT email, display_name, role, department_code, disabled, password_hash, failed_logins, locked_until \
             FROM users WHERE tenant_id = $1 AND email = $2",
        )
        .bind(tenant)
        .bind(&email)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            password_matches(password, None).await;
            return Ok(LoginOutcome::Refused);
        };
        let now = now_text();
        if let Some(until) = row.try_get::<Option<String>, _>("locked_until")? {
            if until > now {
                // As long as a password check, so the time does not tell a lock apart.
                password_matches(password, None).await;
                return Ok(LoginOutcome::Locked { until });
            }
        }
        let user = user_from_row(&row)?;
        let matches = password_matches(password, Some(row.try_get("password_hash")?)).await;
        if matches && !user.disabled {
            sqlx::query(
                "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND email = $2",
            )
            .bind(tenant)
            .bind(&email)
            .execute(&self.pool)
            .await?;
            return Ok(LoginOutcome::Accepted(user));
        }
        self.count_failure(tenant, &email, row.try_get("failed_logins")?)
            .await
    }

    async fn count_failure(&self, tenant: &str, email: &str, before: i64) -> Result<LoginOutcome> {
        let failures = before + 1;
        let locked_until = (failures >= FAILURES_BEFORE_LOCK).then(|| {
            let doublings = (failures - FAILURES_BEFORE_LOCK).min(7) as u32;
            let minutes = (FIRST_LOCK_MINUTES << doublings).min(24 * 60);
            format_time(Utc::now() + Duration::minutes(minutes))
        });
        sqlx::query(
            "UPDATE users SET failed_logins = $1, locked_until = $2 WHERE tenant_id = $3 AND email = $4",
        )
        .bind(failures)
        .bind(locked_until.clone())
        .bind(tenant)
        .bind(email)
        .execute(&self.pool)
        .await?;
        Ok(match locked_until {
            Some(until) => LoginOutcome::Locked { until },
            None => LoginOutcome::Refused,
        })
    }

    /// Every account of a city, by e-mail.
    pub async fn users(&self, tenant: &str) -> Result<Vec<StaffUser>> {
        let rows = sqlx::query(
            "SELECT email, display_name, role, department_code, disabled FROM users \
             WHERE tenant_id = $1 ORDER BY email",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn user(&self, tenant: &str, email: &str) -> Result<Option<StaffUser>> {
        let row = sqlx::query(
            "SELECT email, display_name, role, department_code, disabled FROM users \
             WHERE tenant_id = $1 AND email = $2",
        )
        .bind(tenant)
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Changes role, department or whether the account may sign in, with its audit entry;
    /// disabling an account or changing its role ends its sessions.
    pub async fn change_user(
        &self,
        tenant: &str,
        email: &str,
        change: &UserChange<'_>,
        audit: &crate::audit::AuditEntry,
    ) -> Result<bool> {
        check_department(change.role, change.department_code)?;
        if let Some(code) = change.department_code {
            self.require_department(tenant, code).await?;
        }
        let mut tx = self.begin_audited(tenant).await?;
        let updated = sqlx::query(
            "UPDATE users SET role = $1, department_code = $2, disabled = $3 WHERE tenant_id = $4 AND email = $5",
        )
        .bind(change.role.as_str())
        .bind(change.department_code)
        .bind(i64::from(change.disabled))
        .bind(tenant)
        .bind(email)
        .execute(&mut *tx.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM staff_sessions WHERE tenant_id = $1 AND email = $2")
            .bind(tenant)
            .bind(email)
            .execute(&mut *tx.tx)
            .await?;
        tx.append(audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}
