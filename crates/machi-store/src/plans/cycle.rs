//! The PDCA cycle as stored: progress reports, CIO evaluations, yearly action plans and KPI
//! actuals, each written in one audited transaction, and read back for a whole plan at once
//! (a plan has at most a few hundred measures, so one query per table is cheap).

use machi_core::plans::cycle::{EvaluationInput, ReportInput};
use machi_core::plans::Status;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::procedures::{parse_json, to_json};
use crate::sessions::random_token;
use crate::{now_text, Result, Store, StoreError};

/// 進捗報告: one report of a department on its measure for a fiscal year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub id: String,
    pub node_id: String,
    pub fy: i32,
    pub status: Status,
    pub narrative: String,
    pub evidence: Vec<String>,
    pub department_code: Option<String>,
    pub reported_by: String,
    pub reported_at: crate::Time,
}

/// CIO評価 of a measure's year.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Evaluation {
    pub id: String,
    pub node_id: String,
    #[sqlx(try_from = "i64")]
    pub fy: i32,
    pub grade: String,
    pub comment: String,
    pub evaluated_by: String,
    pub evaluated_at: crate::Time,
}

/// 年度実行計画 of a measure.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Action {
    pub node_id: String,
    #[sqlx(try_from = "i64")]
    pub fy: i32,
    pub text: String,
    pub updated_by: String,
    pub updated_at: crate::Time,
}

/// 実績値 of a KPI for a year, as recorded in machi.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RecordedActual {
    pub kpi_id: String,
    #[sqlx(try_from = "i64")]
    pub fy: i32,
    pub value: String,
    pub recorded_by: String,
    pub recorded_at: crate::Time,
}

/// Everything recorded in machi about a plan's cycle, oldest first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cycle {
    pub reports: Vec<Report>,
    pub evaluations: Vec<Evaluation>,
    pub actions: Vec<Action>,
    pub actuals: Vec<RecordedActual>,
}

impl Cycle {
    /// The current report of a measure for a year: the latest one.
    pub fn report(&self, node: &str, fy: i32) -> Option<&Report> {
        self.reports
            .iter()
            .rev()
            .find(|r| r.node_id == node && r.fy == fy)
    }

    /// The current evaluation of a measure for a year: the latest one.
    pub fn evaluation(&self, node: &str, fy: i32) -> Option<&Evaluation> {
        self.evaluations
            .iter()
            .rev()
            .find(|e| e.node_id == node && e.fy == fy)
    }

    pub fn action(&self, node: &str, fy: i32) -> Option<&Action> {
        self.actions
            .iter()
            .find(|a| a.node_id == node && a.fy == fy)
    }

    /// The recorded actuals of a KPI, by year.
    pub fn actuals_of<'a>(&'a self, kpi: &'a str) -> impl Iterator<Item = &'a RecordedActual> {
        self.actuals.iter().filter(move |a| a.kpi_id == kpi)
    }
}

fn fy(row: &sqlx::any::AnyRow) -> Result<i32> {
    let value: i64 = row.try_get("fy")?;
    i32::try_from(value).map_err(|_| StoreError::Corrupt(format!("fiscal year {value}")))
}

fn report(row: &sqlx::any::AnyRow) -> Result<Report> {
    let status: String = row.try_get("status")?;
    Ok(Report {
        id: row.try_get("id")?,
        node_id: row.try_get("node_id")?,
        fy: fy(row)?,
        status: Status::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("report status {status}")))?,
        narrative: row.try_get("narrative")?,
        evidence: parse_json(&row.try_get::<String, _>("evidence")?)?,
        department_code: row.try_get("department_code")?,
        reported_by: row.try_get("reported_by")?,
        reported_at: row.try_get("reported_at")?,
    })
}

/// Where a cycle entry belongs: the city, the plan and the measure.
#[derive(Debug, Clone, Copy)]
pub struct MeasureRef<'a> {
    pub tenant: &'a str,
    pub plan: &'a str,
    pub node: &'a str,
}

impl MeasureRef<'_> {
    fn subject(&self) -> String {
        format!("plan:{}/{}", self.plan, self.node)
    }
}

impl Store {
    /// Stores a progress report and the KPI actuals it carries, in one audited transaction.
    pub async fn save_report(
        &self,
        at: MeasureRef<'_>,
        input: &ReportInput,
        department: Option<&str>,
        actor: &str,
    ) -> Result<Report> {
        let now = crate::Time::now();
        let saved = Report {
            id: format!("r{}", &random_token()[..15]),
            node_id: at.node.to_string(),
            fy: input.fy,
            status: input.status,
            narrative: input.narrative.clone(),
            evidence: input.evidence.clone(),
            department_code: department.map(str::to_string),
            reported_by: actor.to_string(),
            reported_at: now,
        };
        let mut tx = self.begin_audited(at.tenant).await?;
        sqlx::query(
            "INSERT INTO plan_reports (tenant_id, id, plan_id, node_id, fy, status, narrative, \
             evidence, department_code, reported_by, reported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(at.tenant)
        .bind(&saved.id)
        .bind(at.plan)
        .bind(at.node)
        .bind(i64::from(input.fy))
        .bind(input.status.key())
        .bind(&input.narrative)
        .bind(to_json(&input.evidence)?)
        .bind(department.map(str::to_string))
        .bind(actor)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        for (kpi, value) in &input.actuals {
            upsert_actual(&mut tx.tx, at, kpi, input.fy, value, actor, &now.stored()).await?;
        }
        let detail = json!({"fy": input.fy, "status": input.status.key(),
            "actuals": input.actuals, "report": saved.id});
        tx.append(&AuditEntry::new(
            actor,
            "plan.report",
            &at.subject(),
            detail,
        ))
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Stores a CIO evaluation, audited.
    pub async fn save_evaluation(
        &self,
        at: MeasureRef<'_>,
        input: &EvaluationInput,
        actor: &str,
    ) -> Result<Evaluation> {
        let saved = Evaluation {
            id: format!("e{}", &random_token()[..15]),
            node_id: at.node.to_string(),
            fy: input.fy,
            grade: input.grade.clone(),
            comment: input.comment.clone(),
            evaluated_by: actor.to_string(),
            evaluated_at: crate::Time::now(),
        };
        let mut tx = self.begin_audited(at.tenant).await?;
        sqlx::query(
            "INSERT INTO plan_evaluations (tenant_id, id, plan_id, node_id, fy, grade, comment, \
             evaluated_by, evaluated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(at.tenant)
        .bind(&saved.id)
        .bind(at.plan)
        .bind(at.node)
        .bind(i64::from(input.fy))
        .bind(&input.grade)
        .bind(&input.comment)
        .bind(actor)
        .bind(saved.evaluated_at)
        .execute(&mut *tx.tx)
        .await?;
        let detail = json!({"fy": input.fy, "grade": input.grade, "evaluation": saved.id});
        tx.append(&AuditEntry::new(
            actor,
            "plan.evaluate",
            &at.subject(),
            detail,
        ))
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Sets the yearly action plan of a measure (replacing that year's), audited with the
    /// text it replaced.
    pub async fn save_action(
        &self,
        at: MeasureRef<'_>,
        fy: i32,
        text: &str,
        actor: &str,
    ) -> Result<()> {
        let now = now_text();
        let mut tx = self.begin_audited(at.tenant).await?;
        let before: Option<String> = sqlx::query_scalar(
            "SELECT text FROM plan_actions WHERE tenant_id = $1 AND plan_id = $2 AND node_id = $3 AND fy = $4",
        )
        .bind(at.tenant)
        .bind(at.plan)
        .bind(at.node)
        .bind(i64::from(fy))
        .fetch_optional(&mut *tx.tx)
        .await?;
        sqlx::query(
            "INSERT INTO plan_actions (tenant_id, plan_id, node_id, fy, text, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, plan_id, node_id, fy) DO UPDATE SET text = excluded.text, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(at.tenant)
        .bind(at.plan)
        .bind(at.node)
        .bind(i64::from(fy))
        .bind(text)
        .bind(actor)
        .bind(&now)
        .execute(&mut *tx.tx)
        .await?;
        let detail = json!({"fy": fy, "before": before, "after": text});
        tx.append(&AuditEntry::new(
            actor,
            "plan.action",
            &at.subject(),
            detail,
        ))
        .await?;
        tx.commit().await
    }

    /// Everything recorded about a plan's cycle, oldest first.
    pub async fn plan_cycle(&self, tenant: &str, plan: &str) -> Result<Cycle> {
        let select = |sql: &'static str| {
            sqlx::query(sql)
                .bind(tenant.to_string())
                .bind(plan.to_string())
        };
        let reports = select(
            "SELECT id, node_id, fy, status, narrative, evidence, department_code, reported_by, \
             reported_at FROM plan_reports WHERE tenant_id = $1 AND plan_id = $2 ORDER BY reported_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let evaluations = select(
            "SELECT id, node_id, fy, grade, comment, evaluated_by, evaluated_at FROM plan_evaluations \
             WHERE tenant_id = $1 AND plan_id = $2 ORDER BY evaluated_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let actions = select(
            "SELECT node_id, fy, text, updated_by, updated_at FROM plan_actions \
             WHERE tenant_id = $1 AND plan_id = $2 ORDER BY node_id, fy",
        )
        .fetch_all(&self.pool)
        .await?;
        let actuals = select(
            "SELECT kpi_id, fy, value, recorded_by, recorded_at FROM kpi_actuals \
             WHERE tenant_id = $1 AND plan_id = $2 ORDER BY kpi_id, fy",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(Cycle {
            reports: reports.iter().map(report).collect::<Result<_>>()?,
            evaluations: evaluations
                .iter()
                .map(crate::typed)
                .collect::<Result<_>>()?,
            actions: actions.iter().map(crate::typed).collect::<Result<_>>()?,
            actuals: actuals.iter().map(crate::typed).collect::<Result<_>>()?,
        })
    }
}

async fn upsert_actual(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    at: MeasureRef<'_>,
    kpi: &str,
    fy: i32,
    value: &str,
    actor: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO kpi_actuals (tenant_id, plan_id, kpi_id, fy, value, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, plan_id, kpi_id, fy) DO UPDATE SET value = excluded.value, \
         recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
    )
    .bind(at.tenant)
    .bind(at.plan)
    .bind(kpi)
    .bind(i64::from(fy))
    .bind(value)
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
