//! 進捗ダッシュボード: for one fiscal year, how the measures of each goal stand (status counts
//! and achievement rate, as 高槻市 reports "36 measures, 30 done: 83.3%"), how the CIO graded
//! them, and every KPI of the plan with its chart and data table.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use machi_core::plans::cycle::{grades, plan_years, StatusCounts, ALL_STATUSES};
use machi_core::plans::Node;
use serde::Deserialize;

use super::measure::{kpi_view, KpiView};
use super::standing::{default_fy, fy_label, measures_under, standing};
use super::{load, path_segment, Loaded};
use crate::kit::{city_name, render, City, PageError, Ui};
use crate::AppState;

#[derive(Deserialize, Default)]
pub(crate) struct YearQuery {
    #[serde(default)]
    pub fy: String,
}

impl YearQuery {
    /// The year asked for if the plan covers it, else the default year.
    pub fn year(&self, years: &[i32]) -> i32 {
        self.fy
            .trim()
            .parse()
            .ok()
            .filter(|fy| years.contains(fy))
            .unwrap_or_else(|| default_fy(years))
    }
}

/// A goal's row: its measures' status counts, achievement rate and grades.
struct GoalRow {
    label: String,
    title: String,
    counts: StatusCounts,
    rate: String,
    grades: Vec<usize>,
}

/// A measure's line in the year's list.
struct MeasureLine {
    href: String,
    label: String,
    title: String,
    owners: String,
    status: String,
    grade: String,
}

#[derive(Template)]
#[template(path = "plan_dashboard.html")]
struct DashboardPage {
    ui: Ui,
    city: String,
    back: String,
    plan_title: String,
    plan_href: String,
    years: Vec<(i32, String, bool)>,
    fy: i32,
    year: String,
    statuses: Vec<String>,
    grade_names: Vec<String>,
    goals: Vec<GoalRow>,
    total: GoalRow,
    measures: Vec<MeasureLine>,
    kpis: Vec<(String, String, KpiView)>,
}

fn rate(ui: Ui, counts: &StatusCounts) -> String {
    match counts.achievement_rate() {
        Some(rate) => format!("{rate:.1}%"),
        None => ui.t("—", "—").to_string(),
    }
}

fn goal_row(ui: Ui, loaded: &Loaded, node: Option<&Node>, measures: &[&Node], fy: i32) -> GoalRow {
    let scale = grades(&loaded.plan);
    let mut counts = StatusCounts::default();
    let mut graded = vec![0; scale.len()];
    for measure in measures {
        let s = standing(measure, &loaded.cycle, fy);
        counts.add(s.status);
        if let Some(i) = s.grade.and_then(|g| scale.iter().position(|x| *x == g)) {
            graded[i] += 1;
        }
    }
    GoalRow {
        label: node.map(|n| n.label.clone()).unwrap_or_default(),
        title: node
            .map(|n| n.title.clone())
            .unwrap_or_else(|| ui.t("計画全体", "Whole plan").to_string()),
        rate: rate(ui, &counts),
        counts,
        grades: graded,
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Query(query): Query<YearQuery>,
) -> Result<Response, PageError> {
    let loaded = load(&state, &city, ui, &id).await?;
    let years = plan_years(&loaded.plan);
    let fy = query.year(&years);
    let plan_href = format!("/plans/{}", path_segment(&id));
    let mut goals = Vec::new();
    let mut all = Vec::new();
    for goal in &loaded.plan.nodes {
        let measures = measures_under(goal);
        if measures.is_empty() {
            continue;
        }
        goals.push(goal_row(ui, &loaded, Some(goal), &measures, fy));
        all.extend(measures);
    }
    let total = goal_row(ui, &loaded, None, &all, fy);
    let measures = all
        .iter()
        .map(|m| {
            let s = standing(m, &loaded.cycle, fy);
            MeasureLine {
                href: format!("{plan_href}/measures/{}", path_segment(&m.id)),
                label: m.label.clone(),
                title: m.title.clone(),
                owners: m
                    .owners
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                status: s
                    .status
                    .map(|st| if ui.en { st.english() } else { st.label() }.to_string())
                    .unwrap_or_default(),
                grade: s.grade.unwrap_or_default(),
            }
        })
        .collect();
    let kpis = loaded
        .plan
        .walk()
        .into_iter()
        .flat_map(|(_, node)| {
            let href = format!("{plan_href}/measures/{}", path_segment(&node.id));
            let title = node.title.clone();
            node.kpis
                .iter()
                .map(move |k| (href.clone(), title.clone(), k))
        })
        .map(|(href, title, k)| (href, title, kpi_view(ui, k, &loaded.cycle, &loaded.live)))
        .collect();
    Ok(render(&DashboardPage {
        ui,
        city: city_name(ui, &city),
        back: format!("{plan_href}/dashboard?fy={fy}"),
        plan_title: loaded.plan.plan.title.clone(),
        years: years
            .iter()
            .map(|y| (*y, fy_label(ui, *y), *y == fy))
            .collect(),
        fy,
        year: fy_label(ui, fy),
        statuses: ALL_STATUSES
            .iter()
            .map(|s| if ui.en { s.english() } else { s.label() }.to_string())
            .collect(),
        grade_names: grades(&loaded.plan),
        plan_href,
        goals,
        total,
        measures,
        kpis,
    }))
}
