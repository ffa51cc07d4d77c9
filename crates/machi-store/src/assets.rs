//! 情報資産台帳 (the IT asset ledger) as stored: one row per system, its plan measures, and
//! the reminders already sent.
//!
//! Every write goes through [`Store::begin_audited`]: the rows and one audit entry per changed
//! system (the fields that changed, before and after) commit together or not at all. A CSV
//! import is one such transaction for the whole file. A department may only touch its own
//! systems; the check is made inside the transaction, against the rows as they are then.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use machi_core::assets::{
    due_reminder, reminder_mail, Asset, Hosting, MeasureLink, MigrationStatus, StandardBusiness,
    REMINDER_DAYS,
};
use serde_json::json;
use sqlx::{Any, Row, Transaction};

use crate::audit::AuditEntry;
use crate::mail::OutgoingMail;
use crate::sql::{Param, Sql};
use crate::{now_text, Result, Store, StoreError};

/// Which systems to list; `None`/`false` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub department: Option<String>,
    pub hosting: Option<Hosting>,
    /// Only the 20 標準化対象業務.
    pub standard_only: bool,
    /// Only systems whose contract end or end of life falls between these days (inclusive).
    pub deadline_between: Option<(NaiveDate, NaiveDate)>,
}

/// What a save changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

const COLUMNS: &str = "id, name, department_code, purpose, vendor, contract_start, contract_end, \
    yearly_cost, hosting, confidentiality, integrity, availability, personal_data, \
    standard_business, migration_status, end_of_life";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("asset {what} '{value}'"))
}

fn date_of(row: &sqlx::any::AnyRow, column: &str) -> Result<Option<NaiveDate>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| t.parse().map_err(|_| corrupt(column, &t)))
        .transpose()
}

fn level_of(row: &sqlx::any::AnyRow, column: &str) -> Result<u8> {
    let value: i64 = row.try_get(column)?;
    u8::try_from(value).map_err(|_| corrupt(column, &value.to_string()))
}

fn asset_from_row(row: &sqlx::any::AnyRow) -> Result<Asset> {
    let hosting: String = row.try_get("hosting")?;
    let migration: String = row.try_get("migration_status")?;
    let business: Option<String> = row.try_get("standard_business")?;
    Ok(Asset {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        department: row.try_get("department_code")?,
        purpose: row.try_get("purpose")?,
        vendor: row.try_get("vendor")?,
        contract_start: date_of(row, "contract_start")?,
        contract_end: date_of(row, "contract_end")?,
        yearly_cost: row.try_get("yearly_cost")?,
        hosting: Hosting::parse(&hosting).ok_or_else(|| corrupt("hosting", &hosting))?,
        confidentiality: level_of(row, "confidentiality")?,
        integrity: level_of(row, "integrity")?,
        availability: level_of(row, "availability")?,
        personal_data: row.try_get::<i64, _>("personal_data")? != 0,
        standard_business: business
            .map(|b| StandardBusiness::parse(&b).ok_or_else(|| corrupt("business", &b)))
            .transpose()?,
        migration: MigrationStatus::parse(&migration)
            .ok_or_else(|| corrupt("migration status", &migration))?,
        end_of_life: date_of(row, "end_of_life")?,
        measures: Vec::new(),
    })
}

fn day_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.to_string())
}

impl Store {
    /// The systems matching `filter`, by 管理番号, with their measures.
    pub async fn assets(&self, tenant: &str, filter: &AssetFilter) -> Result<Vec<Asset>> {
        let mut sql = Sql::new(
            self.backend,
            &format!("SELECT {COLUMNS} FROM assets WHERE tenant_id = "),
        );
        sql.bind(Param::Text(tenant.into()));
        if let Some(department) = &filter.department {
            sql.push(" AND department_code = ")
                .bind(Param::Text(department.clone()));
        }
        if let Some(hosting) = filter.hosting {
            sql.push(" AND hosting = ")
                .bind(Param::Text(hosting.as_str().into()));
        }
        if filter.standard_only {
            sql.push(" AND standard_business IS NOT NULL");
        }
        if let Some((from, to)) = filter.deadline_between {
            sql.push(" AND (");
            for (i, column) in ["contract_end", "end_of_life"].iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push(&format!("({column} >= "))
                    .bind(Param::Text(from.to_string()))
                    .push(&format!(" AND {column} <= "))
                    .bind(Param::Text(to.to_string()))
                    .push(")");
            }
            sql.push(")");
        }
        sql.push(" ORDER BY id");
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        let mut assets = rows
            .iter()
            .map(asset_from_row)
            .collect::<Result<Vec<_>>>()?;
        let links = sqlx::query(
            "SELECT asset_id, plan_id, node_id FROM asset_measures WHERE tenant_id = $1 \
             ORDER BY asset_id, plan_id, node_id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        for row in &links {
            let id: String = row.try_get("asset_id")?;
            if let Some(asset) = assets.iter_mut().find(|a| a.id == id) {
                asset.measures.push(MeasureLink {
                    plan_id: row.try_get("plan_id")?,
                    node_id: row.try_get("node_id")?,
                });
            }
        }
        Ok(assets)
    }

    /// One system, if the city has it.
    pub async fn asset(&self, tenant: &str, id: &str) -> Result<Option<Asset>> {
        let mut tx = self.pool.begin().await?;
        let asset = read_asset(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(asset)
    }

    /// The measures (施策) of the city's plans, which systems may be linked to.
    pub async fn plan_measures(&self, tenant: &str) -> Result<HashSet<MeasureLink>> {
        let rows = sqlx::query(
            "SELECT plan_id, id FROM plan_nodes WHERE tenant_id = $1 AND is_measure = 1",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MeasureLink {
                    plan_id: row.try_get("plan_id")?,
                    node_id: row.try_get("id")?,
                })
            })
            .collect()
    }

    /// Creates or updates systems in one audited transaction: an entry per changed system
    /// with the fields that changed, and (for an import) one `asset.import` entry with the
    /// counts. With `scope`, every system must belong to that department before and after,
    /// or nothing is written.
    #[tracing::instrument(name = "save_assets", skip_all, fields(tenant, rows = assets.len()))]
    pub async fn save_assets(
        &self,
        tenant: &str,
        assets: &[Asset],
        actor: &str,
        scope: Option<&str>,
        import: Option<serde_json::Value>,
    ) -> Result<SaveSummary> {
        let mut tx = self.begin_audited(tenant).await?;
        let mut summary = SaveSummary::default();
        let now = now_text();
        for asset in assets {
            let before = read_asset(&mut tx.tx, tenant, &asset.id).await?;
            if let Some(own) = scope {
                let theirs = before.as_ref().map(|b| b.department.as_str());
                if asset.department != own || theirs.is_some_and(|d| d != own) {
                    return Err(StoreError::NotStored(format!(
                        "system {} belongs to another department",
                        asset.id
                    )));
                }
            }
            let changes = asset.changes_from(before.as_ref());
            if changes.is_empty() {
                summary.unchanged += 1;
                continue;
            }
            write_asset(&mut tx.tx, tenant, asset, actor, &now).await?;
            let action = if before.is_some() {
                summary.updated += 1;
                "asset.update"
            } else {
                summary.created += 1;
                "asset.create"
            };
            let detail = json!({ "department": asset.department, "changes": changes });
            tx.append(&AuditEntry::new(actor, action, &asset.id, detail))
                .await?;
        }
        if let Some(mut detail) = import {
            detail["created"] = json!(summary.created);
            detail["updated"] = json!(summary.updated);
            detail["unchanged"] = json!(summary.unchanged);
            tx.append(&AuditEntry::new(actor, "asset.import", "*", detail))
                .await?;
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// Queues the reminders due `today` (90 and 30 days before a contract end or end of life)
    /// to the managers of each system's department (the administrators when it has none),
    /// each reminder once. Returns the number of e-mails queued.
    #[tracing::instrument(name = "asset_reminders", skip(self, ledger_url))]
    pub async fn send_asset_reminders(
        &self,
        tenant: &str,
        today: NaiveDate,
        ledger_url: &str,
    ) -> Result<usize> {
        let horizon = today + Duration::days(REMINDER_DAYS[0]);
        let filter = AssetFilter {
            deadline_between: Some((today, horizon)),
            ..Default::default()
        };
        let departments = self.departments(tenant).await?;
        let mut queued = 0;
        for asset in self.assets(tenant, &filter).await? {
            let department = departments
                .iter()
                .find(|d| d.code == asset.department)
                .map_or(asset.department.as_str(), |d| d.ja.as_str());
            for (kind, date) in asset.deadlines() {
                let Some(reminder) = due_reminder(kind, date, today) else {
                    continue;
                };
                // The bookkeeping row first: it takes SQLite's write lock at once, and a
                // reminder another node already sent stops here.
                let mut tx = self.pool.begin().await?;
                let recorded = sqlx::query(
                    "INSERT INTO asset_reminders (tenant_id, asset_id, kind, deadline, days_before, \
                     sent_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(tenant)
                .bind(&asset.id)
                .bind(kind.as_str())
                .bind(date.to_string())
                .bind(reminder.days_before)
                .bind(now_text())
                .execute(&mut *tx)
                .await?;
                if recorded.rows_affected() == 0 {
                    continue;
                }
                let recipients = reminder_recipients(&mut tx, tenant, &asset.department).await?;
                if recipients.is_empty() {
                    // Not recorded: it goes once someone can receive it.
                    tracing::warn!(asset = %asset.id, "no manager or administrator to remind");
                    continue;
                }
                let (subject, body) = reminder_mail(&asset, &reminder, department, ledger_url);
                for recipient in &recipients {
                    let mail = OutgoingMail {
                        recipient: recipient.clone(),
                        subject: subject.clone(),
                        body: body.clone(),
                    };
                    crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
                }
                tx.commit().await?;
                queued += recipients.len();
            }
        }
        Ok(queued)
    }
}

async fn read_asset(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    id: &str,
) -> Result<Option<Asset>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM assets WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut asset = asset_from_row(&row)?;
    let links = sqlx::query(
        "SELECT plan_id, node_id FROM asset_measures WHERE tenant_id = $1 AND asset_id = $2 \
         ORDER BY plan_id, node_id",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    for row in &links {
        asset.measures.push(MeasureLink {
            plan_id: row.try_get("plan_id")?,
            node_id: row.try_get("node_id")?,
        });
    }
    Ok(Some(asset))
}

async fn write_asset(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    asset: &Asset,
    actor: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assets (tenant_id, id, name, department_code, purpose, vendor, contract_start, \
         contract_end, yearly_cost, hosting, confidentiality, integrity, availability, \
         personal_data, standard_business, migration_status, end_of_life, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, \
         department_code = excluded.department_code, purpose = excluded.purpose, \
         vendor = excluded.vendor, contract_start = excluded.contract_start, \
         contract_end = excluded.contract_end, yearly_cost = excluded.yearly_cost, \
         hosting = excluded.hosting, confidentiality = excluded.confidentiality, \
         integrity = excluded.integrity, availability = excluded.availability, \
         personal_data = excluded.personal_data, standard_business = excluded.standard_business, \
         migration_status = excluded.migration_status, end_of_life = excluded.end_of_life, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(tenant)
    .bind(&asset.id)
    .bind(&asset.name)
    .bind(&asset.department)
    .bind(&asset.purpose)
    .bind(&asset.vendor)
    .bind(day_text(asset.contract_start))
    .bind(day_text(asset.contract_end))
    .bind(asset.yearly_cost)
    .bind(asset.hosting.as_str())
    .bind(i64::from(asset.confidentiality))
    .bind(i64::from(asset.integrity))
    .bind(i64::from(asset.availability))
    .bind(i64::from(asset.personal_data))
    .bind(asset.standard_business.map(|b| b.code().to_string()))
    .bind(asset.migration.as_str())
    .bind(day_text(asset.end_of_life))
    .bind(now)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM asset_measures WHERE tenant_id = $1 AND asset_id = $2")
        .bind(tenant)
        .bind(&asset.id)
        .execute(&mut **tx)
        .await?;
    for link in &asset.measures {
        sqlx::query(
            "INSERT INTO asset_measures (tenant_id, asset_id, plan_id, node_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(&asset.id)
        .bind(&link.plan_id)
        .bind(&link.node_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The managers of a department, or every administrator when it has none (active accounts).
async fn reminder_recipients(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    department: &str,
) -> Result<Vec<String>> {
    let managers: Vec<String> = sqlx::query_scalar(
        "SELECT email FROM users WHERE tenant_id = $1 AND role = 'manager' \
         AND department_code = $2 AND disabled = 0 ORDER BY email",
    )
    .bind(tenant)
    .bind(department)
    .fetch_all(&mut **tx)
    .await?;
    if !managers.is_empty() {
        return Ok(managers);
    }
    Ok(sqlx::query_scalar(
        "SELECT email FROM users WHERE tenant_id = $1 AND role = 'admin' AND disabled = 0 ORDER BY email",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?)
}
