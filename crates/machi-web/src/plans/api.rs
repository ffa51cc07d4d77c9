//! `GET /api/v1/plans` and `GET /api/v1/plans/{id}`: a city's ICT/DX plans, the tree given as
//! imported (machi-plan/1, docs/plan-format.md) so that nothing the city wrote is lost.

use axum::extract::{Path, State};
use axum::Json;
use machi_store::plans::PlanSummary;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::kit::{ApiError, City};
use crate::AppState;

/// The city a plan belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanCity {
    /// 全国地方公共団体コード (6 digits with its check digit).
    pub code: String,
    pub name: String,
}

/// 計画期間 in fiscal years (年度, the Western year in which it starts).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanPeriod {
    pub from_fy: Option<i32>,
    pub to_fy: Option<i32>,
    /// The period as printed in the document.
    pub as_printed: Option<String>,
}

/// A plan as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanListItem {
    pub id: String,
    pub title: String,
    pub city: PlanCity,
    pub period: PlanPeriod,
    /// Headings of the tree, at every level.
    pub node_count: i64,
    /// Headings that are measures (施策・取組).
    pub measure_count: i64,
    pub imported_at: String,
}

impl From<PlanSummary> for PlanListItem {
    fn from(s: PlanSummary) -> Self {
        Self {
            id: s.id,
            title: s.title,
            city: PlanCity {
                code: s.city_code,
                name: s.city_name,
            },
            period: PlanPeriod {
                from_fy: s.from_fy,
                to_fy: s.to_fy,
                as_printed: s.period_as_printed,
            },
            node_count: s.node_count,
            measure_count: s.measure_count,
            imported_at: s.imported_at.to_string(),
        }
    }
}

/// A city's plans.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    pub plans: Vec<PlanListItem>,
}

/// One plan: its summary and the file as imported.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDetail {
    #[serde(flatten)]
    pub summary: PlanListItem,
    /// Always `machi-plan/1`.
    pub format: String,
    /// The plan header (`plan` of the format): document, revisions, the city's level names,
    /// schedule columns, evaluation scale, outline.
    #[schema(value_type = Object)]
    pub header: Value,
    /// The tree: nodes with `level`, `label` and `title` as printed, and for measures their
    /// owners, schedule per fiscal year, KPIs, progress and figures; `children` nest.
    #[schema(value_type = Vec<Object>)]
    pub nodes: Value,
    /// Figures not tied to one node.
    #[schema(value_type = Vec<Object>)]
    pub figures: Value,
    /// Free-form notes (推進体制, 転記の範囲 …).
    #[schema(value_type = Vec<Object>)]
    pub notes: Value,
    /// The cycle as recorded in machi, oldest first: `reports` (progress per measure and
    /// fiscal year: status 未着手/実施中/完了/見直し/中止 as in the plan format,
    /// narrative, evidence), `evaluations` (CIO grade and comment), `actions` (yearly action
    /// plans) and `actuals` (KPI actuals per fiscal year). The latest report or evaluation of a
    /// measure's year is the current one.
    #[schema(value_type = Object)]
    pub cycle: Value,
    /// This month's value of each live figure the plan's KPIs are bound to (its key, as in a
    /// KPI's `binding`, to the value; null when there is nothing to compute from yet).
    #[schema(value_type = Object)]
    pub live: Value,
}

/// The city's ICT/DX plans (情報化計画・DX推進計画).
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans",
    responses((status = 200, body = PlanList)))]
pub(crate) async fn list_plans(
    State(state): State<AppState>,
    City(city): City,
) -> Result<Json<PlanList>, ApiError> {
    let plans = state.store.plans(&city.id).await?;
    Ok(Json(PlanList {
        plans: plans.into_iter().map(Into::into).collect(),
    }))
}

/// One plan with its tree of measures, KPIs, schedule and figures.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = String, Path, description = "Plan id", pattern = "^[^\\x00-\\x1f\\x7f/]+$")),
    responses((status = 200, body = PlanDetail), (status = 404, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn show_plan(
    State(state): State<AppState>,
    City(city): City,
    Path(id): Path<String>,
) -> Result<Json<PlanDetail>, ApiError> {
    let stored = state
        .store
        .plan(&city.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such plan"))?;
    let json = |value: Result<Value, serde_json::Error>| value.map_err(ApiError::internal);
    let cycle = state.store.plan_cycle(&city.id, &id).await?;
    let month = machi_store::plans::metrics::current_month();
    let mut live = serde_json::Map::new();
    for metric in machi_core::plans::metric::bound_metrics(&stored.plan) {
        let value = state.store.metric_value(&city.id, metric, &month).await?;
        live.insert(metric.key().to_string(), json(serde_json::to_value(value))?);
    }
    let plan = stored.plan;
    Ok(Json(PlanDetail {
        summary: stored.summary.into(),
        format: plan.format.clone(),
        header: json(serde_json::to_value(&plan.plan))?,
        nodes: json(serde_json::to_value(&plan.nodes))?,
        figures: json(serde_json::to_value(&plan.figures))?,
        notes: json(serde_json::to_value(&plan.notes))?,
        cycle: json(serde_json::to_value(&cycle))?,
        live: Value::Object(live),
    }))
}
