//! 職員アカウント (staff accounts). Passwords are hashed with argon2id; nothing else here
//! ever sees a password.

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;

use crate::{now_text, Result, Store, StoreError};

/// Staff roles; what each may do is decided in the web layer.
pub const ROLES: [&str; 6] = ["admin", "manager", "staff", "counter", "auditor", "cio"];

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub tenant_id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub department_code: Option<&'a str>,
}

impl Store {
    /// Creates a staff account; refuses a duplicate e-mail in the same city.
    pub async fn create_user(&self, user: &NewUser<'_>, password: &str) -> Result<()> {
        if !ROLES.contains(&user.role) {
            return Err(StoreError::Conflict(format!(
                "unknown role '{}': use one of {}",
                user.role,
                ROLES.join(", ")
            )));
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| StoreError::Conflict(format!("password could not be hashed: {e}")))?
            .to_string();
        let inserted = sqlx::query(
            "INSERT INTO users (tenant_id, email, display_name, role, department_code, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, email) DO NOTHING",
        )
        .bind(user.tenant_id)
        .bind(user.email.to_lowercase())
        .bind(user.display_name)
        .bind(user.role)
        .bind(user.department_code)
        .bind(hash)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "a user with e-mail {} already exists",
                user.email
            )));
        }
        Ok(())
    }
}
