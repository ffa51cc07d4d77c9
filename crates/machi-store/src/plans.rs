//! 情報化計画 as imported: the parsed file kept whole for fidelity, plus one row per node so the
//! tree can be queried. Importing a plan id again replaces that plan in one audited transaction
//! and records a revision: why, by whom, and which headings changed. Progress, evaluations and
//! KPI actuals are keyed by node id (see `cycle`), so a revision keeps them.

pub mod cycle;
pub mod metrics;

use machi_core::plans::revision::{changes, PlanChanges};
use machi_core::plans::{Node, Plan};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::procedures::{parse_json, to_json};
use crate::{now_text, Result, Store};

/// 改定履歴 as machi recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionRecord {
    pub number: i64,
    pub reason: String,
    pub changes: PlanChanges,
    pub revised_by: String,
    pub revised_at: crate::Time,
}

/// A plan as listed: header columns and the size of its tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSummary {
    pub id: String,
    pub title: String,
    pub city_code: String,
    pub city_name: String,
    pub from_fy: Option<i32>,
    pub to_fy: Option<i32>,
    pub period_as_printed: Option<String>,
    pub node_count: i64,
    pub measure_count: i64,
    pub imported_at: crate::Time,
}

/// A node row: where it sits in the tree (the node's own data is in the plan).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanNodeRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub depth: i64,
    pub label: String,
    pub title: String,
    pub position: i64,
    pub measure: bool,
}

/// A stored plan: its summary, the parsed file and its node rows in document order.
#[derive(Debug, Clone)]
pub struct StoredPlan {
    pub summary: PlanSummary,
    pub plan: Plan,
    pub nodes: Vec<PlanNodeRow>,
}

const SUMMARY_COLUMNS: &str = "id, title, city_code, city_name, from_fy, to_fy, \
    period_as_printed, node_count, measure_count, imported_at";

fn summary(row: &sqlx::any::AnyRow) -> Result<PlanSummary> {
    let fy = |column: &str| -> Result<Option<i32>> {
        let value: Option<i64> = row.try_get(column)?;
        Ok(value.and_then(|v| i32::try_from(v).ok()))
    };
    Ok(PlanSummary {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        city_code: row.try_get("city_code")?,
        city_name: row.try_get("city_name")?,
        from_fy: fy("from_fy")?,
        to_fy: fy("to_fy")?,
        period_as_printed: row.try_get("period_as_printed")?,
        node_count: row.try_get("node_count")?,
        measure_count: row.try_get("measure_count")?,
        imported_at: row.try_get("imported_at")?,
    })
}

impl Store {
    /// Imports a parsed plan, replacing the plan with the same id (all or nothing).
    #[tracing::instrument(name = "import_plan", skip(self, plan), fields(plan = %plan.plan.id))]
    pub async fn import_plan(
        &self,
        tenant: &str,
        plan: &Plan,
        imported_by: &str,
        reason: &str,
    ) -> Result<PlanSummary> {
        let walk = plan.walk();
        let measures = walk.iter().filter(|(_, n)| n.measure).count();
        let header = &plan.plan;
        let mut audited = self.begin_audited(tenant).await?;
        let tx = &mut audited.tx;
        let previous: Option<String> =
            sqlx::query_scalar("SELECT definition FROM plans WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(&header.id)
                .fetch_optional(&mut **tx)
                .await?;
        let changed = match &previous {
            Some(previous) => changes(&parse_json::<Plan>(previous)?, plan),
            None => PlanChanges::default(),
        };
        // Nodes first: they reference the plan row.
        for table in ["plan_nodes", "plans"] {
            let column = if table == "plans" { "id" } else { "plan_id" };
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2"
            ))
            .bind(tenant)
            .bind(&header.id)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO plans (tenant_id, id, title, city_code, city_name, from_fy, to_fy, \
             period_as_printed, document, levels, definition, node_count, measure_count, \
             imported_at, imported_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(tenant)
        .bind(&header.id)
        .bind(&header.title)
        .bind(&header.city.code)
        .bind(&header.city.name)
        .bind(header.period.from_fy.map(i64::from))
        .bind(header.period.to_fy.map(i64::from))
        .bind(header.period.as_printed.clone())
        .bind(to_json(&header.document)?)
        .bind(to_json(&header.levels)?)
        .bind(to_json(plan)?)
        .bind(i64::try_from(walk.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(measures).unwrap_or(i64::MAX))
        .bind(now_text())
        .bind(imported_by)
        .execute(&mut **tx)
        .await?;
        let mut positions: std::collections::HashMap<Option<&str>, i64> = Default::default();
        for (parent, node) in &walk {
            let position = positions.entry(*parent).or_default();
            *position += 1;
            let own = Node {
                children: Vec::new(),
                ..(*node).clone()
            };
            sqlx::query(
                "INSERT INTO plan_nodes (tenant_id, plan_id, id, parent_id, depth, label, title, \
                 position, is_measure, owners, node) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(tenant)
            .bind(&header.id)
            .bind(&node.id)
            .bind(parent.map(str::to_string))
            .bind(i64::from(node.level))
            .bind(&node.label)
            .bind(&node.title)
            .bind(*position)
            .bind(i64::from(node.measure))
            .bind(to_json(&node.owners)?)
            .bind(to_json(&own)?)
            .execute(&mut **tx)
            .await?;
        }
        let number = record_revision(tx, tenant, &header.id, reason, &changed, imported_by).await?;
        let detail = json!({"revision": number, "reason": reason, "added": changed.added.len(),
            "removed": changed.removed.len(), "changed": changed.changed.len(), "header": changed.header});
        let subject = format!("plan:{}", header.id);
        audited
            .append(&AuditEntry::new(
                imported_by,
                "plan.import",
                &subject,
                detail,
            ))
            .await?;
        audited.commit().await?;
        let stored = self.plan_summary(tenant, &header.id).await?;
        stored.ok_or_else(|| crate::StoreError::Corrupt(format!("plan {} vanished", header.id)))
    }

    async fn plan_summary(&self, tenant: &str, id: &str) -> Result<Option<PlanSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM plans WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(summary).transpose()
    }

    /// A city's plans, newest period first.
    pub async fn plans(&self, tenant: &str) -> Result<Vec<PlanSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM plans WHERE tenant_id = $1 \
             ORDER BY COALESCE(from_fy, 0) DESC, id"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary).collect()
    }

    /// One plan with its tree, if the city has it.
    pub async fn plan(&self, tenant: &str, id: &str) -> Result<Option<StoredPlan>> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, definition FROM plans WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let plan: Plan = parse_json(&row.try_get::<String, _>("definition")?)?;
        let rows = sqlx::query(
            "SELECT id, parent_id, depth, label, title, position, is_measure FROM plan_nodes \
             WHERE tenant_id = $1 AND plan_id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut by_id = std::collections::HashMap::new();
        for row in &rows {
            let node = PlanNodeRow {
                id: row.try_get("id")?,
                parent_id: row.try_get("parent_id")?,
                depth: row.try_get("depth")?,
                label: row.try_get("label")?,
                title: row.try_get("title")?,
                position: row.try_get("position")?,
                measure: row.try_get::<i64, _>("is_measure")? != 0,
            };
            by_id.insert(node.id.clone(), node);
        }
        // Document order comes from the stored tree, which the rows mirror.
        let nodes = plan
            .walk()
            .iter()
            .filter_map(|(_, n)| by_id.remove(&n.id))
            .collect();
        Ok(Some(StoredPlan {
            summary: summary(&row)?,
            plan,
            nodes,
        }))
    }

    /// The revisions machi recorded for a plan, newest first.
    pub async fn plan_revisions(&self, tenant: &str, plan: &str) -> Result<Vec<RevisionRecord>> {
        let rows = sqlx::query(
            "SELECT number, reason, changes, revised_by, revised_at FROM plan_revisions \
             WHERE tenant_id = $1 AND plan_id = $2 ORDER BY number DESC",
        )
        .bind(tenant)
        .bind(plan)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RevisionRecord {
                    number: row.try_get("number")?,
                    reason: row.try_get("reason")?,
                    changes: parse_json(&row.try_get::<String, _>("changes")?)?,
                    revised_by: row.try_get("revised_by")?,
                    revised_at: row.try_get("revised_at")?,
                })
            })
            .collect()
    }
}

/// Appends the next revision of a plan inside the import's transaction.
async fn record_revision(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant: &str,
    plan: &str,
    reason: &str,
    changed: &PlanChanges,
    by: &str,
) -> Result<i64> {
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(number) FROM plan_revisions WHERE tenant_id = $1 AND plan_id = $2",
    )
    .bind(tenant)
    .bind(plan)
    .fetch_one(&mut **tx)
    .await?;
    let number = last.unwrap_or(0) + 1;
    sqlx::query(
        "INSERT INTO plan_revisions (tenant_id, plan_id, number, reason, changes, revised_by, revised_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant)
    .bind(plan)
    .bind(number)
    .bind(reason)
    .bind(to_json(changed)?)
    .bind(by)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(number)
}
