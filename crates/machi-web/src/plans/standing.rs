//! Where a measure stands in a fiscal year, and the values of its KPIs over time: what the
//! dashboard, the measure page and the yearly report all show, computed in one place.
//!
//! A report recorded in machi wins over what the imported document states for the same year
//! (the document is the starting point, machi's records are the cycle since), and the latest
//! report or evaluation of a year is the current one.

use std::collections::HashMap;

use machi_core::plans::cycle::numeric;
use machi_core::plans::metric::{bound_metrics, Metric};
use machi_core::plans::{Kpi, Node, Plan, Status};
use machi_store::plans::cycle::Cycle;
use machi_store::plans::metrics::current_month;
use machi_store::Store;

use super::chart::{Point, PointKind};
use crate::kit::{jst_text, Ui};

/// How a measure stands in a year.
#[derive(Debug, Clone, Default)]
pub(crate) struct Standing {
    pub status: Option<Status>,
    pub narrative: String,
    pub evidence: Vec<String>,
    pub reported: String,
    pub grade: Option<String>,
    pub comment: String,
    pub evaluated: String,
}

pub(crate) fn standing(node: &Node, cycle: &Cycle, fy: i32) -> Standing {
    let stated = node.progress.iter().rev().find(|p| p.fy == fy);
    let mut standing = Standing::default();
    if let Some(stated) = stated {
        standing.status = stated.status;
        standing.grade = stated.grade.clone();
        standing.comment = stated.comment.clone().unwrap_or_default();
        standing.evaluated = stated.evaluator.clone().unwrap_or_default();
    }
    if let Some(report) = cycle.report(&node.id, fy) {
        standing.status = Some(report.status);
        standing.narrative = report.narrative.clone();
        standing.evidence = report.evidence.clone();
        standing.reported = format!("{} {}", report.reported_by, jst_text(report.reported_at));
    }
    if let Some(evaluation) = cycle.evaluation(&node.id, fy) {
        standing.grade = Some(evaluation.grade.clone());
        standing.comment = evaluation.comment.clone();
        standing.evaluated = format!(
            "{} {}",
            evaluation.evaluated_by,
            jst_text(evaluation.evaluated_at)
        );
    }
    standing
}

/// The fiscal year it is now in Japan (April to March).
pub(crate) fn current_fy() -> i32 {
    machi_core::wareki::fiscal_year(machi_core::wareki::today_jst())
}

/// The year a page shows unless asked for another: this year inside the plan's period, else
/// the period's nearest end.
pub(crate) fn default_fy(years: &[i32]) -> i32 {
    let now = current_fy();
    match (years.first(), years.last()) {
        (Some(first), Some(last)) => now.clamp(*first, *last),
        _ => now,
    }
}

pub(crate) fn fy_label(ui: Ui, fy: i32) -> String {
    if ui.en {
        format!("FY{fy}")
    } else {
        format!("{fy}年度")
    }
}

/// A live figure: its monthly snapshots and its value now.
#[derive(Debug, Clone, Default)]
pub(crate) struct Live {
    pub history: Vec<(String, f64)>,
    pub now: Option<f64>,
    pub month: String,
}

/// The live figures the plan's KPIs are bound to.
pub(crate) async fn live_figures(
    store: &Store,
    tenant: &str,
    plan: &Plan,
) -> machi_store::Result<HashMap<Metric, Live>> {
    let month = current_month();
    let mut figures = HashMap::new();
    for metric in bound_metrics(plan) {
        let live = Live {
            history: store.metric_history(tenant, metric).await?,
            now: store.metric_value(tenant, metric, &month).await?,
            month: month.clone(),
        };
        figures.insert(metric, live);
    }
    Ok(figures)
}

/// A fiscal year's value sits at the March that ends it.
fn fy_key(fy: i32) -> String {
    format!("{}-03", fy + 1)
}

fn dated(ui: Ui, fy: Option<i32>, as_of: Option<&str>) -> Option<(String, String)> {
    match (fy, as_of) {
        (Some(fy), _) => Some((fy_key(fy), fy_label(ui, fy))),
        (None, Some(as_of)) => Some((as_of.chars().take(7).collect(), as_of.to_string())),
        (None, None) => None,
    }
}

/// Every value of a KPI in time order: baseline, the document's actuals, actuals recorded in
/// machi (a recorded year replaces the document's), and for a bound KPI its monthly values.
pub(crate) fn kpi_points(
    ui: Ui,
    kpi: &Kpi,
    cycle: &Cycle,
    live: &HashMap<Metric, Live>,
) -> Vec<Point> {
    let mut points = Vec::new();
    let mut push = |when: Option<(String, String)>, value: Option<f64>, kind| {
        if let (Some((key, label)), Some(value)) = (when, value) {
            points.push(Point {
                key,
                label,
                value,
                kind,
            });
        }
    };
    if let Some(baseline) = &kpi.baseline {
        let when = dated(ui, baseline.fy, baseline.as_of.as_deref());
        push(when, numeric(&baseline.value), PointKind::Baseline);
    }
    let recorded: Vec<_> = cycle.actuals_of(&kpi.id).collect();
    for actual in &kpi.actuals {
        if actual
            .fy
            .is_some_and(|fy| recorded.iter().any(|r| r.fy == fy))
        {
            continue;
        }
        let when = dated(ui, actual.fy, actual.as_of.as_deref());
        push(when, numeric(&actual.value), PointKind::Actual);
    }
    for actual in recorded {
        let when = dated(ui, Some(actual.fy), None);
        push(when, actual.value.parse().ok(), PointKind::Actual);
    }
    if let Some(figure) = kpi
        .binding
        .as_deref()
        .and_then(Metric::parse)
        .and_then(|m| live.get(&m))
    {
        for (month, value) in figure.history.iter().filter(|(m, _)| *m != figure.month) {
            push(
                Some((month.clone(), month.clone())),
                Some(*value),
                PointKind::Live,
            );
        }
        let now = Some((figure.month.clone(), figure.month.clone()));
        push(now, figure.now, PointKind::Live);
    }
    points.sort_by(|a, b| a.key.cmp(&b.key));
    points
}

/// The measures under a node, the node included, in document order.
pub(crate) fn measures_under(node: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    fn visit<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
        if node.measure {
            out.push(node);
        }
        for child in &node.children {
            visit(child, out);
        }
    }
    visit(node, &mut out);
    out
}
