//! Wording a city sets for itself (the 教示 of how to appeal a refusal, …), by key.

use machi_core::procedures::Localized;
use sqlx::Row;

use crate::{now_text, Result, Store};

impl Store {
    /// The city's own wording for `key`, if it set one.
    pub async fn city_text(&self, tenant: &str, key: &str) -> Result<Option<Localized>> {
        let row = sqlx::query("SELECT ja, en FROM city_texts WHERE tenant_id = $1 AND key = $2")
            .bind(tenant)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Localized::new(
                row.try_get::<String, _>("ja")?,
                row.try_get::<String, _>("en")?,
            ))
        })
        .transpose()
    }

    /// Sets the city's wording for `key`; `None` returns to machi's default.
    pub async fn set_city_text(
        &self,
        tenant: &str,
        key: &str,
        text: Option<&Localized>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM city_texts WHERE tenant_id = $1 AND key = $2")
            .bind(tenant)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if let Some(text) = text {
            sqlx::query(
                "INSERT INTO city_texts (tenant_id, key, ja, en, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant)
            .bind(key)
            .bind(&text.ja)
            .bind(&text.en)
            .bind(now_text())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
