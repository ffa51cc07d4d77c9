//! The categories of notices a city sets for itself (えらべる化); a city that has set none has
//! machi's defaults (`machi_core::notices::default_categories`).

use machi_core::notices::{default_categories, Category};
use machi_core::procedures::Localized;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::{Result, Store, StoreError};

impl Store {
    /// The city's categories in their order.
    pub async fn notice_categories(&self, tenant: &str) -> Result<Vec<Category>> {
        let rows = sqlx::query(
            "SELECT id, label_ja, label_en, cap_category FROM notice_categories \
             WHERE tenant_id = $1 ORDER BY position",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(default_categories());
        }
        rows.iter()
            .map(|row| {
                Ok(Category {
                    id: row.try_get("id")?,
                    label: Localized::new(
                        row.try_get::<String, _>("label_ja")?,
                        row.try_get::<String, _>("label_en")?,
                    ),
                    cap: row.try_get("cap_category")?,
                })
            })
            .collect()
    }

    /// Replaces the city's categories (checked by the caller), audited. A category that
    /// notices or subscriptions still name cannot be removed: they would lose it silently.
    pub async fn save_notice_categories(
        &self,
        tenant: &str,
        categories: &[Category],
        actor: &str,
    ) -> Result<()> {
        let before = self.notice_categories(tenant).await?;
        let mut tx = self.begin_audited(tenant).await?;
        for gone in before
            .iter()
            .filter(|b| !categories.iter().any(|c| c.id == b.id))
        {
            let pattern = format!("%|{}|%", gone.id);
            let in_use: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM notices WHERE tenant_id = $1 AND categories LIKE $2) \
                 + (SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1 AND categories LIKE $2)",
            )
            .bind(tenant)
            .bind(&pattern)
            .fetch_one(&mut *tx.tx)
            .await?;
            if in_use > 0 {
                return Err(StoreError::invalid(
                    format!(
                        "分類「{}」は{in_use}件のお知らせ・配信登録で使われているため、削除できません。名前を変えることはできます。",
                        gone.label.ja
                    ),
                    format!(
                        "The category '{}' is used by {in_use} notices and subscriptions and cannot be removed; it can be renamed.",
                        gone.id
                    ),
                ));
            }
        }
        sqlx::query("DELETE FROM notice_categories WHERE tenant_id = $1")
            .bind(tenant)
            .execute(&mut *tx.tx)
            .await?;
        for (position, category) in categories.iter().enumerate() {
            sqlx::query(
                "INSERT INTO notice_categories (tenant_id, id, label_ja, label_en, cap_category, position) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(tenant)
            .bind(&category.id)
            .bind(&category.label.ja)
            .bind(&category.label.en)
            .bind(&category.cap)
            .bind(position as i64)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.append(&AuditEntry::new(
            actor,
            "notices.categories",
            "categories",
            serde_json::json!({ "ids": categories.iter().map(|c| c.id.as_str()).collect::<Vec<_>>() }),
        ))
        .await?;
        tx.commit().await
    }
}
