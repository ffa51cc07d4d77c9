//! A resource's file replaced by a new version: the same resource (its id, address and place
//! in the dataset stay, so links and CKAN clients follow it), a new file, audited with the
//! digest of the one it replaced (which stays stored, so the old version can be found again);
//! and a resource just added withdrawn when what it was added for failed.

use serde_json::json;

use super::{ResourceInput, ResourceRecord};
use crate::audit::AuditEntry;
use crate::{now_text, Result, Store, StoreError};

impl Store {
    /// Replaces the file of `resource_id` (of `dataset_id`) and what describes it.
    pub async fn replace_resource_file(
        &self,
        tenant: &str,
        dataset_id: &str,
        resource_id: &str,
        input: &ResourceInput,
        actor: &str,
    ) -> Result<ResourceRecord> {
        let before = self
            .resource(tenant, resource_id)
            .await?
            .filter(|r| r.dataset_id == dataset_id)
            .ok_or_else(|| StoreError::NotStored(format!("no resource {resource_id}")))?;
        let now = now_text();
        let mut audited = self.begin_audited(tenant).await?;
        let tx = &mut audited.tx;
        super::touch_active_dataset(tx, tenant, dataset_id, &now).await?;
        let updated = sqlx::query(
            "UPDATE od_resources SET name = $1, format = $2, media_type = $3, size_bytes = $4, \
             file_sha256 = $5, standard = $6, modified_at = $7 \
             WHERE tenant_id = $8 AND id = $9 AND dataset_id = $10",
        )
        .bind(&input.name)
        .bind(&input.format)
        .bind(&input.media_type)
        .bind(input.size_bytes)
        .bind(input.file_sha256.clone())
        .bind(&input.standard)
        .bind(&now)
        .bind(tenant)
        .bind(resource_id)
        .bind(dataset_id)
        .execute(&mut **tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotStored(format!("no resource {resource_id}")));
        }
        let detail = json!({
            "dataset": dataset_id,
            "name": input.name,
            "replaced": before.file_sha256,
            "with": input.file_sha256,
        });
        audited
            .append(&AuditEntry::new(
                actor,
                "resource.replace",
                &format!("resource:{resource_id}"),
                detail,
            ))
            .await?;
        audited.commit().await?;
        self.resource(tenant, resource_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("resource {resource_id} vanished")))
    }

    /// Withdraws a resource added moments ago whose table could not be made
    /// (`datastore_create` with a `resource`), so that the failed call leaves nothing behind;
    /// only a resource with neither file nor link nor datastore rows is withdrawn.
    pub async fn withdraw_new_resource(&self, tenant: &str, id: &str, actor: &str) -> Result<()> {
        let mut audited = self.begin_audited(tenant).await?;
        let removed = sqlx::query(
            "DELETE FROM od_resources WHERE tenant_id = $1 AND id = $2 AND file_sha256 IS NULL \
             AND url = '' AND NOT EXISTS (SELECT 1 FROM datastore_resources t \
             WHERE t.tenant_id = od_resources.tenant_id AND t.resource_id = od_resources.id)",
        )
        .bind(tenant)
        .bind(id)
        .execute(&mut *audited.tx)
        .await?
        .rows_affected();
        if removed > 0 {
            audited
                .append(&AuditEntry::new(
                    actor,
                    "resource.withdraw",
                    &format!("resource:{id}"),
                    json!({"why": "datastore_create failed"}),
                ))
                .await?;
            audited.commit().await?;
        }
        Ok(())
    }
}
