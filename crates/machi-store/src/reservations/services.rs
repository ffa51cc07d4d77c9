//! The services residents book, stored as their definitions (JSON) with the department that
//! offers them.

use machi_core::reservations::Service;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{now_text, Result, Store, StoreError};

impl Store {
    /// Saves the city's services (adding and replacing; a service not listed stays).
    pub async fn save_services(&self, tenant: &str, services: &[Service]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let now = now_text();
        for service in services {
            crate::procedures::upsert_department(&mut tx, tenant, &service.department).await?;
            let definition =
                serde_json::to_string(service).map_err(|e| StoreError::NotStored(e.to_string()))?;
            sqlx::query(
                "INSERT INTO services (tenant_id, id, department_code, definition, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, id) DO UPDATE SET \
                 department_code = excluded.department_code, definition = excluded.definition, \
                 updated_at = excluded.updated_at",
            )
            .bind(tenant)
            .bind(&service.id)
            .bind(&service.department.code)
            .bind(definition)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The city's services, by department and id.
    pub async fn services(&self, tenant: &str) -> Result<Vec<Service>> {
        let rows = sqlx::query(
            "SELECT definition FROM services WHERE tenant_id = $1 ORDER BY department_code, id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(service_from_row).collect()
    }

    pub async fn service(&self, tenant: &str, id: &str) -> Result<Option<Service>> {
        let row = sqlx::query("SELECT definition FROM services WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(service_from_row).transpose()
    }
}

/// The service `id`, read in `tx`.
pub(in crate::reservations) async fn service_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    id: &str,
) -> Result<Option<Service>> {
    let row = sqlx::query("SELECT definition FROM services WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(service_from_row).transpose()
}

fn service_from_row(row: &AnyRow) -> Result<Service> {
    let text: String = row.try_get("definition")?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("service: {e}")))
}
