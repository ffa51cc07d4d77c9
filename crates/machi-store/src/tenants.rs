//! 自治体 (tenants): one deployment can serve several cities, each with its own catalog,
//! applications and receipt numbers. A request's city is found from its Host name.

use sqlx::Row;

use crate::{now_text, Result, Store};

/// A city served by this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name_ja: String,
    pub name_en: String,
    pub host: Option<String>,
}

impl Store {
    /// Creates the city if it does not exist yet. An existing city keeps its names; its host
    /// name is set when one is given (so a city can be moved to its own host later).
    pub async fn ensure_tenant(&self, tenant: &Tenant) -> Result<()> {
        sqlx::query(
            "INSERT INTO tenants (id, name_ja, name_en, host, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET host = COALESCE(excluded.host, tenants.host)",
        )
        .bind(&tenant.id)
        .bind(&tenant.name_ja)
        .bind(&tenant.name_en)
        .bind(tenant.host.as_deref().map(str::to_ascii_lowercase))
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// All cities, oldest first (the first is the default for unknown host names).
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows =
            sqlx::query("SELECT id, name_ja, name_en, host FROM tenants ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(Tenant {
                    id: row.try_get("id")?,
                    name_ja: row.try_get("name_ja")?,
                    name_en: row.try_get("name_en")?,
                    host: row.try_get("host")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Makes sure a department exists (e.g. one with staff but no procedures, like 情報政策課).
    pub async fn ensure_department(
        &self,
        tenant: &str,
        code: &str,
        name_ja: &str,
        name_en: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO departments (tenant_id, code, name_ja, name_en) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, code) DO NOTHING",
        )
        .bind(tenant)
        .bind(code)
        .bind(name_ja)
        .bind(name_en)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store {
    /// A key every node of a city must share (the Web Push VAPID key, say), made by `make` the
    /// first time it is asked for. Two nodes racing to make it both get the one stored first.
    pub async fn tenant_key(
        &self,
        tenant: &str,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM tenant_keys WHERE tenant_id = $1 AND name = $2")
                .bind(tenant)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(value) = stored {
            return Ok(value);
        }
        sqlx::query(
            "INSERT INTO tenant_keys (tenant_id, name, value, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(tenant)
        .bind(name)
        .bind(make())
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM tenant_keys WHERE tenant_id = $1 AND name = $2")
                .bind(tenant)
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
