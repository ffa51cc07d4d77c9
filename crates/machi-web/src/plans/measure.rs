//! A measure's page: its schedule and yearly action plans, where it stands each year, its KPI
//! charts with their data tables, and the history of reports and evaluations. Residents read
//! it at `/plans/{id}/measures/{node}`; staff get the same page with the forms their role
//! allows at `/staff/plans/{id}/measures/{node}`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use machi_core::plans::cycle::plan_years;
use machi_core::plans::metric::Metric;
use machi_core::plans::{Direction, Kpi, Node, Plan};
use machi_store::plans::cycle::Cycle;
use serde::Deserialize;

use super::chart::{self, PointKind, Series};
use super::standing::{fy_label, kpi_points, standing, Live};
use super::{load, path_segment, Loaded};
use crate::kit::{city_name, jst_text, render, ApiError, City, PageError, Ui};
use crate::AppState;

/// One fiscal year of a measure.
pub(crate) struct YearView {
    pub label: String,
    pub schedule: String,
    pub action: String,
    pub status: String,
    pub narrative: String,
    pub evidence: Vec<String>,
    pub reported: String,
    pub grade: String,
    pub comment: String,
    pub evaluated: String,
}

/// A KPI with its chart and the table of the same values.
pub(crate) struct KpiView {
    pub name: String,
    pub direction: String,
    pub baseline: String,
    pub target: String,
    pub live: String,
    /// The chart, as SVG markup made by [`chart::svg`] (escaped there).
    pub svg: String,
    /// When, value, what kind of value.
    pub rows: Vec<(String, String, String)>,
    pub latest: String,
}

/// One entry of the measure's history.
pub(crate) struct HistoryEntry {
    pub when: String,
    pub who: String,
    pub what: String,
}

/// What both the public and the staff page show of a measure.
pub(crate) struct MeasureView {
    pub plan_href: String,
    pub plan_title: String,
    pub href: String,
    pub label: String,
    pub title: String,
    pub level_name: String,
    pub owners: Vec<String>,
    pub description: Vec<String>,
    pub years: Vec<YearView>,
    pub kpis: Vec<KpiView>,
    pub history: Vec<HistoryEntry>,
}

fn direction(ui: Ui, direction: Direction) -> String {
    match direction {
        Direction::Increase => ui.t("増やす", "higher is better"),
        Direction::Decrease => ui.t("減らす", "lower is better"),
        Direction::Maintain => ui.t("維持する", "keep"),
    }
    .to_string()
}

fn kind_label(ui: Ui, kind: PointKind) -> String {
    match kind {
        PointKind::Baseline => ui.t("基準値", "Baseline"),
        PointKind::Actual => ui.t("実績値", "Actual"),
        PointKind::Live => ui.t("machi 集計（月次）", "Computed by machi (monthly)"),
    }
    .to_string()
}

pub(crate) fn kpi_view(ui: Ui, kpi: &Kpi, cycle: &Cycle, live: &HashMap<Metric, Live>) -> KpiView {
    let points = kpi_points(ui, kpi, cycle, live);
    let with_unit = |v: f64| format!("{}{}", chart::number(v), kpi.unit);
    let target = kpi.target.as_ref().map(|t| {
        let value = machi_core::plans::cycle::numeric(&t.value);
        (
            value,
            format!("{}{}（{}）", t.value, kpi.unit, fy_label(ui, t.fy)),
        )
    });
    let latest = points
        .last()
        .map(|p| format!("{}（{}）", with_unit(p.value), p.label));
    let description = format!(
        "{}: {}。{}: {}",
        ui.t("最新値", "Latest"),
        latest
            .clone()
            .unwrap_or_else(|| ui.t("なし", "none").into()),
        ui.t("目標", "Target"),
        target
            .as_ref()
            .map(|t| t.1.clone())
            .unwrap_or_else(|| ui.t("なし", "none").into())
    );
    let target_label = target
        .as_ref()
        .map(|t| format!("{} {}", ui.t("目標", "Target"), t.1));
    let svg = chart::svg(
        &Series {
            id: &format!("kpi-{}", path_segment(&kpi.id)),
            title: &kpi.name,
            unit: &kpi.unit,
            points: &points,
            target: target.as_ref().and_then(|t| {
                t.0.map(|v| (v, target_label.as_deref().unwrap_or_default()))
            }),
        },
        &description,
    );
    KpiView {
        name: kpi.name.clone(),
        direction: direction(ui, kpi.direction),
        baseline: kpi
            .baseline
            .as_ref()
            .map(|b| {
                let when =
                    b.fy.map(|fy| fy_label(ui, fy))
                        .or(b.as_of.clone())
                        .unwrap_or_default();
                format!("{}{}（{when}）", b.value, kpi.unit)
            })
            .unwrap_or_default(),
        target: target.map(|t| t.1).unwrap_or_default(),
        live: kpi
            .binding
            .as_deref()
            .and_then(Metric::parse)
            .map(|m| ui.l(&m.label()).to_string())
            .unwrap_or_default(),
        svg,
        rows: points
            .iter()
            .map(|p| (p.label.clone(), with_unit(p.value), kind_label(ui, p.kind)))
            .collect(),
        latest: latest.unwrap_or_default(),
    }
}

fn history(ui: Ui, node: &Node, cycle: &Cycle) -> Vec<HistoryEntry> {
    let mut entries: Vec<(machi_store::Time, HistoryEntry)> = Vec::new();
    for r in cycle.reports.iter().filter(|r| r.node_id == node.id) {
        let what = format!(
            "{} {}: {}",
            fy_label(ui, r.fy),
            ui.t("進捗報告", "progress report"),
            if ui.en {
                r.status.english()
            } else {
                r.status.label()
            }
        );
        let entry = HistoryEntry {
            when: jst_text(r.reported_at),
            who: r.reported_by.clone(),
            what,
        };
        entries.push((r.reported_at, entry));
    }
    for e in cycle.evaluations.iter().filter(|e| e.node_id == node.id) {
        let what = format!(
            "{} {}: {}",
            fy_label(ui, e.fy),
            ui.t("CIO評価", "CIO evaluation"),
            e.grade
        );
        let entry = HistoryEntry {
            when: jst_text(e.evaluated_at),
            who: e.evaluated_by.clone(),
            what,
        };
        entries.push((e.evaluated_at, entry));
    }
    for a in cycle.actions.iter().filter(|a| a.node_id == node.id) {
        let what = format!("{} {}", fy_label(ui, a.fy), ui.t("実行計画", "action plan"));
        let entry = HistoryEntry {
            when: jst_text(a.updated_at),
            who: a.updated_by.clone(),
            what,
        };
        entries.push((a.updated_at, entry));
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    entries.into_iter().map(|(_, e)| e).collect()
}

fn year_view(ui: Ui, node: &Node, cycle: &Cycle, fy: i32) -> YearView {
    let s = standing(node, cycle, fy);
    let schedule: Vec<&str> = node
        .schedule
        .iter()
        .filter(|r| r.fy == fy)
        .map(|r| r.text.as_str())
        .collect();
    YearView {
        label: fy_label(ui, fy),
        schedule: schedule.join("・"),
        action: cycle
            .action(&node.id, fy)
            .map(|a| a.text.clone())
            .unwrap_or_default(),
        status: s
            .status
            .map(|st| if ui.en { st.english() } else { st.label() }.to_string())
            .unwrap_or_default(),
        narrative: s.narrative,
        evidence: s.evidence,
        reported: s.reported,
        grade: s.grade.unwrap_or_default(),
        comment: s.comment,
        evaluated: s.evaluated,
    }
}

pub(crate) fn measure_view(ui: Ui, loaded: &Loaded, node: &Node) -> MeasureView {
    let plan = &loaded.plan;
    let plan_href = format!("/plans/{}", path_segment(&plan.plan.id));
    MeasureView {
        href: format!("{plan_href}/measures/{}", path_segment(&node.id)),
        plan_href,
        plan_title: plan.plan.title.clone(),
        label: node.label.clone(),
        title: node.title.clone(),
        level_name: plan.level_name(node.level).unwrap_or_default().to_string(),
        owners: node.owners.iter().map(|o| o.name.clone()).collect(),
        description: node
            .description
            .as_deref()
            .map(|d| d.lines().map(str::to_string).collect())
            .unwrap_or_default(),
        years: plan_years(plan)
            .into_iter()
            .map(|fy| year_view(ui, node, &loaded.cycle, fy))
            .collect(),
        kpis: node
            .kpis
            .iter()
            .map(|k| kpi_view(ui, k, &loaded.cycle, &loaded.live))
            .collect(),
        history: history(ui, node, &loaded.cycle),
    }
}

/// The node of a plan, or a 404 page.
pub(crate) fn find_node<'a>(ui: Ui, plan: &'a Plan, node: &str) -> Result<&'a Node, PageError> {
    plan.walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.id == node)
        .ok_or_else(|| {
            let missing = ui.t(
                "その項目はこの計画にありません。",
                "The plan has no such item.",
            );
            PageError::from(ApiError::not_found(missing))
        })
}

#[derive(Template)]
#[template(path = "plan_measure.html")]
struct PublicPage {
    ui: Ui,
    city: String,
    back: String,
    m: MeasureView,
}

#[derive(Deserialize)]
pub(crate) struct NodePath {
    pub id: String,
    pub node: String,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(at): Path<NodePath>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &city, ui, &at.id).await?;
    let node = find_node(ui, &loaded.plan, &at.node)?;
    let m = measure_view(ui, &loaded, node);
    Ok(render(&PublicPage {
        ui,
        city: city_name(ui, &city),
        back: m.href.clone(),
        m,
    }))
}
