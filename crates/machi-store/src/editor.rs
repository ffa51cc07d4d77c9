//! 手続エディタの保存: drafts staff work on, and publishing a draft as the live procedure with
//! a new form version. Stored form versions never change, so applications made on an older
//! version keep the form they were made with.

use machi_core::procedures::{FormDefinition, ProcedureDefinition};
use serde_json::json;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::procedures::{add_form_version, parse_json, upsert_department, upsert_procedure};
use crate::{now_text, Result, Store, StoreError};

/// One line of the editor's list: a procedure, its draft, or both.
#[derive(Debug, Clone)]
pub struct EditorEntry {
    pub id: String,
    pub name_ja: String,
    pub department_code: String,
    pub published: Option<bool>,
    pub form_version: Option<i64>,
    pub draft_by: Option<String>,
}

impl Store {
    /// The draft of a procedure, if someone is editing it.
    pub async fn draft(&self, tenant: &str, id: &str) -> Result<Option<ProcedureDefinition>> {
        let row = sqlx::query(
            "SELECT definition FROM procedure_drafts WHERE tenant_id = $1 AND procedure_id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| parse_json(&row.try_get::<String, _>("definition")?))
            .transpose()
    }

    /// Saves a draft (whole definition, form included), audited.
    pub async fn save_draft(
        &self,
        tenant: &str,
        definition: &ProcedureDefinition,
        actor: &str,
        change: &str,
    ) -> Result<()> {
        let text =
            serde_json::to_string(definition).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin_audited(tenant).await?;
        sqlx::query(
            "INSERT INTO procedure_drafts (tenant_id, procedure_id, department_code, definition, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, procedure_id) DO UPDATE SET \
             definition = excluded.definition, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(&definition.id)
        .bind(&definition.department.code)
        .bind(text)
        .bind(actor)
        .bind(now_text())
        .execute(&mut *tx.tx)
        .await?;
        tx.append(&AuditEntry::new(
            actor,
            "procedure.draft",
            &definition.id,
            json!({ "change": change }),
        ))
        .await?;
        tx.commit().await
    }

    pub async fn discard_draft(&self, tenant: &str, id: &str, actor: &str) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        sqlx::query("DELETE FROM procedure_drafts WHERE tenant_id = $1 AND procedure_id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.append(&AuditEntry::new(actor, "procedure.discard", id, json!({})))
            .await?;
        tx.commit().await
    }

    /// Makes the draft the live procedure. Its form becomes a new version unless it equals
    /// the current one; returns the form version residents now get.
    pub async fn publish_draft(&self, tenant: &str, id: &str, actor: &str) -> Result<Option<i64>> {
        let Some(mut definition) = self.draft(tenant, id).await? else {
            return Err(StoreError::not_found(
                "公開する下書きがありません。",
                format!("procedure {id} has no draft to publish"),
            ));
        };
        if let Err(problems) = definition.check() {
            return Err(StoreError::invalid(
                format!("手続の定義に誤りがあります: {}", problems.join("; ")),
                problems.join("; "),
            ));
        }
        let mut tx = self.begin_audited(tenant).await?;
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT form_version FROM procedures WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *tx.tx)
        .await?
        .flatten();
        if let Some(form) = definition.form.as_mut() {
            form.version = next_version(&mut tx, tenant, id, current, form).await?;
        }
        upsert_department(&mut tx.tx, tenant, &definition.department).await?;
        upsert_procedure(&mut tx.tx, tenant, &definition).await?;
        if let Some(form) = &definition.form {
            add_form_version(&mut tx.tx, tenant, id, form).await?;
        }
        sqlx::query(
            "UPDATE procedures SET published = 1, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(crate::now_text())
        .execute(&mut *tx.tx)
        .await?;
        sqlx::query("DELETE FROM procedure_drafts WHERE tenant_id = $1 AND procedure_id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        let version = definition.form.as_ref().map(|f| f.version);
        tx.append(&AuditEntry::new(
            actor,
            "procedure.publish",
            id,
            json!({ "form_version": version }),
        ))
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Shows or hides a procedure from residents; returns false if there is no such procedure.
    pub async fn set_published(
        &self,
        tenant: &str,
        id: &str,
        published: bool,
        actor: &str,
    ) -> Result<bool> {
        let mut tx = self.begin_audited(tenant).await?;
        let updated =
            sqlx::query(
                "UPDATE procedures SET published = $1, updated_at = $4 WHERE tenant_id = $2 AND id = $3",
            )
            .bind(i64::from(published))
            .bind(tenant)
            .bind(id)
            .bind(crate::now_text())
                .execute(&mut *tx.tx)
                .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let action = if published {
            "procedure.publish"
        } else {
            "procedure.unpublish"
        };
        tx.append(&AuditEntry::new(actor, action, id, json!({})))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Procedures and drafts of a department (every department for `None`), by id.
    pub async fn editor_entries(
        &self,
        tenant: &str,
        department: Option<&str>,
    ) -> Result<Vec<EditorEntry>> {
        let rows = sqlx::query(
            "SELECT id, name_ja, department_code, published, form_version FROM procedures \
             WHERE tenant_id = $1 AND ($2 = '' OR department_code = $2) ORDER BY id",
        )
        .bind(tenant)
        .bind(department.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        let mut entries: Vec<EditorEntry> = rows
            .iter()
            .map(|row| {
                Ok(EditorEntry {
                    id: row.try_get("id")?,
                    name_ja: row.try_get("name_ja")?,
                    department_code: row.try_get("department_code")?,
                    published: Some(row.try_get::<i64, _>("published")? != 0),
                    form_version: row.try_get("form_version")?,
                    draft_by: None,
                })
            })
            .collect::<Result<_>>()?;
        let drafts = sqlx::query(
            "SELECT procedure_id, department_code, definition, updated_by FROM procedure_drafts \
             WHERE tenant_id = $1 AND ($2 = '' OR department_code = $2)",
        )
        .bind(tenant)
        .bind(department.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        for row in drafts {
            let id: String = row.try_get("procedure_id")?;
            let by: String = row.try_get("updated_by")?;
            match entries.iter_mut().find(|e| e.id == id) {
                Some(entry) => entry.draft_by = Some(by),
                None => {
                    let definition: ProcedureDefinition =
                        parse_json(&row.try_get::<String, _>("definition")?)?;
                    entries.push(EditorEntry {
                        id,
                        name_ja: definition.name.ja,
                        department_code: row.try_get("department_code")?,
                        published: None,
                        form_version: None,
                        draft_by: Some(by),
                    });
                }
            }
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }
}

/// The version a published form gets: the current one if nothing changed, else the next.
async fn next_version(
    tx: &mut crate::audit::AuditedTx<'_>,
    tenant: &str,
    id: &str,
    current: Option<i64>,
    form: &FormDefinition,
) -> Result<i64> {
    let Some(current) = current else { return Ok(1) };
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT definition FROM forms WHERE tenant_id = $1 AND procedure_id = $2 AND version = $3",
    )
    .bind(tenant)
    .bind(id)
    .bind(current)
    .fetch_optional(&mut *tx.tx)
    .await?;
    let unchanged = match stored {
        Some(text) => {
            let stored: FormDefinition = parse_json(&text)?;
            stored
                == FormDefinition {
                    version: current,
                    ..form.clone()
                }
        }
        None => false,
    };
    Ok(if unchanged { current } else { current + 1 })
}
