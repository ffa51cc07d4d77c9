//! API tokens: a member of staff's key for scripts and the CKAN API's write actions. A token
//! acts as its owner (role and department); only its SHA-256 is stored, and a disabled account
//! or a revoked token no longer signs anything.

use machi_core::digest::sha256_hex;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::sessions::random_token;
use crate::users::{user_from_row, StaffUser};
use crate::{now_text, Result, Store, StoreError};

impl Store {
    /// Makes a token for a member of staff; returns its id and the token, shown only now.
    pub async fn create_api_token(
        &self,
        tenant: &str,
        email: &str,
        name: &str,
    ) -> Result<(String, String)> {
        let token = random_token();
        let id = format!("t{}", &random_token()[..15]);
        let mut audited = self.begin_audited(tenant).await?;
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (tenant_id, id, email, name, token_sha256, created_at) \
             SELECT $1, $2, email, $4, $5, $6 FROM users \
             WHERE tenant_id = $1 AND email = $3 AND disabled = 0",
        )
        .bind(tenant)
        .bind(&id)
        .bind(email)
        .bind(name)
        .bind(sha256_hex(token.as_bytes()))
        .bind(now_text())
        .execute(&mut *audited.tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::NotStored(format!("no active account {email}")));
        }
        let entry = AuditEntry::new(
            email,
            "api_token.create",
            &format!("token:{id}"),
            json!({"name": name}),
        );
        audited.append(&entry).await?;
        audited.commit().await?;
        Ok((id, token))
    }

    /// The member of staff a token acts for, if it is valid.
    pub async fn api_token_user(&self, tenant: &str, token: &str) -> Result<Option<StaffUser>> {
        let row = sqlx::query(
            "SELECT u.email, u.display_name, u.role, u.department_code, u.disabled \
             FROM api_tokens t JOIN users u ON u.tenant_id = t.tenant_id AND u.email = t.email \
             WHERE t.token_sha256 = $1 AND t.tenant_id = $2 AND t.revoked_at IS NULL",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?;
        let user = row.as_ref().map(user_from_row).transpose()?;
        Ok(user.filter(|u| !u.disabled))
    }

    /// Revokes a token of this member of staff; false when there is none to revoke.
    pub async fn revoke_api_token(&self, tenant: &str, email: &str, id: &str) -> Result<bool> {
        let mut audited = self.begin_audited(tenant).await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND email = $3 AND id = $4 \
             AND revoked_at IS NULL",
        )
        .bind(now_text())
        .bind(tenant)
        .bind(email)
        .bind(id)
        .execute(&mut *audited.tx)
        .await?
        .rows_affected()
            > 0;
        if revoked {
            let entry =
                AuditEntry::new(email, "api_token.revoke", &format!("token:{id}"), json!({}));
            audited.append(&entry).await?;
            audited.commit().await?;
        }
        Ok(revoked)
    }
}
