//! ライフイベントのバンドル as each city defines them, and applications made together.

use std::collections::HashMap;

use machi_core::life_events::Bundle;
use sqlx::Row;

use crate::procedures::parse_json;
use crate::{now_text, Result, Store, StoreError};

impl Store {
    /// Replaces a city's bundles (all or nothing); every procedure they name must exist.
    pub async fn import_bundles(&self, tenant: &str, bundles: &[Bundle]) -> Result<usize> {
        let known = self.question_names(tenant).await?;
        let mut problems = Vec::new();
        for bundle in bundles {
            if let Err(found) = bundle.check(|id| known.get(id).cloned()) {
                problems.extend(found);
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::invalid(
                format!(
                    "ライフイベントの定義に誤りがあります: {}",
                    problems.join("; ")
                ),
                problems.join("; "),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM life_event_bundles WHERE tenant_id = $1")
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        for bundle in bundles {
            let definition =
                serde_json::to_string(bundle).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO life_event_bundles (tenant_id, id, definition, updated_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant)
            .bind(&bundle.id)
            .bind(definition)
            .bind(now_text())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(bundles.len())
    }

    /// Every procedure of a city with the question names of its current online form (none for a
    /// procedure done at the counter).
    async fn question_names(&self, tenant: &str) -> Result<HashMap<String, Vec<String>>> {
        let rows: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT id, form_version FROM procedures WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&self.pool)
                .await?;
        let mut known = HashMap::new();
        for (id, version) in rows {
            let names = match version {
                Some(version) => self
                    .form(tenant, &id, version)
                    .await?
                    .map(|form| form.ui.order)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            known.insert(id, names);
        }
        Ok(known)
    }

    /// A city's bundles, by id.
    pub async fn bundles(&self, tenant: &str) -> Result<Vec<Bundle>> {
        let rows = sqlx::query(
            "SELECT definition FROM life_event_bundles WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| parse_json(&row.try_get::<String, _>("definition")?))
            .collect()
    }

    pub async fn bundle(&self, tenant: &str, id: &str) -> Result<Option<Bundle>> {
        let row = sqlx::query(
            "SELECT definition FROM life_event_bundles WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| parse_json(&row.try_get::<String, _>("definition")?))
            .transpose()
    }

    /// The other applications made in the same bundle: (receipt, procedure, department).
    pub async fn bundle_siblings(
        &self,
        tenant: &str,
        receipt_number: &str,
    ) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT b.receipt_number, b.procedure_id, b.department_code FROM applications a \
             JOIN applications b ON b.tenant_id = a.tenant_id AND b.bundle_id = a.bundle_id \
             WHERE a.tenant_id = $1 AND a.receipt_number = $2 AND a.bundle_id IS NOT NULL \
             AND b.receipt_number <> a.receipt_number ORDER BY b.receipt_number",
        )
        .bind(tenant)
        .bind(receipt_number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("receipt_number")?,
                    row.try_get("procedure_id")?,
                    row.try_get("department_code")?,
                ))
            })
            .collect()
    }
}
