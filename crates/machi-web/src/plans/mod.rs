//! 情報化計画: the city's ICT/DX plans as a living PDCA cycle. Public pages show the list, each
//! plan's tree with the city's own level names, numbering, owners, schedule, figures and
//! sources, a page per measure with its KPI charts, the dashboard, the yearly report and the
//! revision history; staff report, evaluate and revise under `/staff/plans`. The tree is nested
//! lists with a heading per node so screen-reader users can move by heading or by list.

pub(crate) mod api;
mod chart;
mod dashboard;
mod measure;
mod report;
mod staff;
mod standing;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use machi_core::plans::metric::Metric;
use machi_core::plans::{Figure, Node, Plan};
use machi_store::plans::cycle::Cycle;
use machi_store::plans::{PlanSummary, RevisionRecord};

pub(crate) use staff::routes as staff_routes;

use crate::kit::{city_name, render, ApiError, City, PageError, Ui};
use crate::AppState;

pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/plans", get(list))
        .route("/plans/{id}", get(show))
        .route("/plans/{id}/dashboard", get(dashboard::show))
        .route("/plans/{id}/report", get(report::show))
        .route("/plans/{id}/revisions", get(revisions))
        .route("/plans/{id}/measures/{node}", get(measure::show))
}

/// The plans' JSON API, relative to `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/plans", get(api::list_plans))
        .route("/plans/{id}", get(api::show_plan))
}

/// A path segment for an id from a plan file: ids such as `1-(1)` keep their parentheses
/// (allowed in a segment) so links stay readable; anything else is percent-encoded.
pub(crate) fn path_segment(id: &str) -> String {
    crate::kit::percent_encode_except(id, b"-._~()")
}

/// A plan with what machi recorded of its cycle and the live figures its KPIs are bound to.
pub(crate) struct Loaded {
    pub plan: Plan,
    pub cycle: Cycle,
    pub live: HashMap<Metric, standing::Live>,
}

/// A plan as stored, or the 404 page: for pages and forms that need neither the cycle nor
/// the live figures.
pub(crate) async fn stored_plan(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    id: &str,
) -> Result<machi_store::plans::StoredPlan, PageError> {
    state.store.plan(&city.id, id).await?.ok_or_else(|| {
        let missing = ui.t("その計画はありません。", "There is no such plan.");
        PageError::from(ApiError::not_found(missing))
    })
}

/// Loads a plan with its cycle and live figures for a page, or the 404 page.
pub(crate) async fn load(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    id: &str,
) -> Result<Loaded, PageError> {
    let failed = |e: machi_store::StoreError| PageError::from(e);
    let stored = stored_plan(state, city, ui, id).await?;
    let cycle = state.store.plan_cycle(&city.id, id).await.map_err(failed)?;
    let live = standing::live_figures(&state.store, &city.id, &stored.plan)
        .await
        .map_err(failed)?;
    Ok(Loaded {
        plan: stored.plan,
        cycle,
        live,
    })
}

#[derive(Template)]
#[template(path = "plans.html")]
struct ListPage {
    ui: Ui,
    city: String,
    back: String,
    plans: Vec<PlanSummary>,
}

/// One step of walking the tree: askama has no recursion, so the tree is flattened into the
/// opening and closing of lists and items, in document order. Below the first level, a node's
/// children are folded (`<details>`), so a plan of hundreds of measures reads as its goals
/// first.
enum Step {
    OpenList,
    Item(Box<NodeView>),
    /// Children folded under a summary that says how many there are.
    OpenFold(String),
    CloseFold,
    CloseItem,
    CloseList,
}

/// What a node shows.
struct NodeView {
    /// `h3` for level 1 (under the page's `h2`) down to `h6`, so headings follow the tree.
    heading: u32,
    /// The heading's element id, which the contents list links to.
    anchor: String,
    /// The measure's own page, for measures.
    href: String,
    level_name: String,
    label: String,
    title: String,
    measure: bool,
    description: Vec<String>,
    sections: Vec<(String, Vec<String>, bool)>,
    owners: Vec<String>,
    /// Header cells and the phase of each year (empty when the table has no cell for it).
    schedule: Option<(Vec<String>, Vec<String>)>,
    progress: Vec<String>,
    figures: Vec<String>,
}

impl NodeView {
    /// The measure tag, unless the level's own name already says 施策 (no 「施策施策」).
    fn measure_tag(&self) -> bool {
        self.measure && !self.level_name.contains("施策")
    }
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    ui: Ui,
    city: String,
    back: String,
    summary: PlanSummary,
    plan: Plan,
    levels: Vec<(String, String)>,
    /// The first level's headings: (anchor, label and title).
    contents: Vec<(String, String)>,
    steps: Vec<Step>,
    figures: Vec<String>,
    /// The document's own notes: (heading, lines). Transcribers' notes stay out of public pages.
    notes: Vec<(String, Vec<String>)>,
}

use standing::fy_label as fy;

/// 「令和3年度〜令和7年度」; a year the plan does not state is left out, and a plan that
/// states neither says so (never 「?〜?」).
fn period(ui: Ui, summary: &PlanSummary) -> String {
    match (summary.from_fy, summary.to_fy) {
        (None, None) => ui.t("記載なし", "Not stated").to_string(),
        (from, to) => format!(
            "{}〜{}",
            from.map(|v| fy(ui, v)).unwrap_or_default(),
            to.map(|v| fy(ui, v)).unwrap_or_default()
        ),
    }
}

/// The element id of a node's heading.
fn anchor(node: &Node) -> String {
    let id: String = node
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("node-{id}")
}

/// 「1 安全・安心なまちづくり」: a node's printed label and title.
fn heading_text(node: &Node) -> String {
    if node.label.is_empty() {
        node.title.clone()
    } else {
        format!("{} {}", node.label, node.title)
    }
}

fn figure_line(figure: &Figure) -> String {
    let mut line = format!("{}: {} {}", figure.name, figure.value, figure.unit);
    if let Some(of) = &figure.of {
        line.push_str(&format!(" / {of}"));
    }
    let when = [
        figure.as_of.clone(),
        figure.fy.map(|v| format!("{v}年度")),
        figure.period.clone(),
    ];
    if let Some(when) = when.into_iter().flatten().next() {
        line.push_str(&format!("（{when}）"));
    }
    if !figure.breakdown.is_empty() {
        let parts: Vec<String> = figure
            .breakdown
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        line.push_str(&format!(" — {}", parts.join("、")));
    }
    line
}

fn node_view(ui: Ui, plan: &Plan, node: &Node) -> NodeView {
    let schedule = (!node.schedule.is_empty()).then(|| {
        let mut years: Vec<i32> = plan.plan.schedule_columns.iter().map(|c| c.fy).collect();
        if years.is_empty() {
            years = node.schedule.iter().map(|r| r.fy).collect();
            years.sort_unstable();
            years.dedup();
        }
        let cells = years
            .iter()
            .map(|year| {
                let texts: Vec<&str> = node
                    .schedule
                    .iter()
                    .filter(|r| r.fy == *year)
                    .map(|r| r.text.as_str())
                    .collect();
                texts.join("・")
            })
            .collect();
        (years.iter().map(|y| fy(ui, *y)).collect(), cells)
    });
    NodeView {
        heading: (node.level + 2).min(6),
        anchor: anchor(node),
        href: if node.measure {
            format!(
                "/plans/{}/measures/{}",
                path_segment(&plan.plan.id),
                path_segment(&node.id)
            )
        } else {
            String::new()
        },
        level_name: plan.level_name(node.level).unwrap_or_default().to_string(),
        label: node.label.clone(),
        title: node.title.clone(),
        measure: node.measure,
        description: node
            .description
            .as_deref()
            .map(|d| d.lines().map(str::to_string).collect())
            .unwrap_or_default(),
        sections: node
            .sections
            .iter()
            .map(|s| match (&s.items, &s.text) {
                (Some(items), _) => (s.heading.clone(), items.clone(), true),
                (None, text) => (s.heading.clone(), text.iter().cloned().collect(), false),
            })
            .collect(),
        owners: node.owners.iter().map(|o| o.name.clone()).collect(),
        schedule,
        progress: node
            .progress
            .iter()
            .map(|p| {
                let parts: Vec<String> = [
                    p.status.map(|s| s.label().to_string()),
                    p.grade
                        .as_ref()
                        .map(|g| format!("{}: {g}", ui.t("評価", "Grade"))),
                    p.comment.clone(),
                ]
                .into_iter()
                .flatten()
                .collect();
                format!("{} {}", fy(ui, p.fy), parts.join(" — "))
            })
            .collect(),
        figures: node.figures.iter().map(figure_line).collect(),
    }
}

fn steps(ui: Ui, plan: &Plan, nodes: &[Node], out: &mut Vec<Step>) {
    if nodes.is_empty() {
        return;
    }
    out.push(Step::OpenList);
    for node in nodes {
        out.push(Step::Item(Box::new(node_view(ui, plan, node))));
        let folded = node.level >= 1 && !node.children.is_empty();
        if folded {
            let level = node
                .children
                .first()
                .and_then(|child| plan.level_name(child.level))
                .unwrap_or_default();
            let count = node.children.len();
            out.push(Step::OpenFold(if ui.en {
                format!("Show the {count} items under it")
            } else {
                format!("{level}（{count}件）を表示")
            }));
        }
        steps(ui, plan, &node.children, out);
        if folded {
            out.push(Step::CloseFold);
        }
        out.push(Step::CloseItem);
    }
    out.push(Step::CloseList);
}

pub(crate) async fn list(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
) -> Result<Response, PageError> {
    let plans = state.store.plans(&city.id).await?;
    Ok(render(&ListPage {
        ui,
        city: city_name(ui, &city),
        back: "/plans".into(),
        plans,
    }))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let stored = state.store.plan(&city.id, &id).await?.ok_or_else(|| {
        let missing = ui.t("その計画はありません。", "There is no such plan.");
        PageError::from(ApiError::not_found(missing))
    })?;
    let plan = stored.plan;
    let mut tree = Vec::new();
    steps(ui, &plan, &plan.nodes, &mut tree);
    Ok(render(&PlanPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/plans/{id}"),
        levels: plan
            .plan
            .levels
            .iter()
            .map(|l| (l.name.clone(), l.numbering.clone().unwrap_or_default()))
            .collect(),
        figures: plan.figures.iter().map(figure_line).collect(),
        contents: plan
            .nodes
            .iter()
            .map(|node| (anchor(node), heading_text(node)))
            .collect(),
        notes: plan
            .notes
            .iter()
            .filter(|n| !n.source.contains("転記者"))
            .map(|n| {
                let lines = n
                    .text
                    .iter()
                    .chain(n.items.iter().flatten())
                    .cloned()
                    .collect();
                (n.heading.clone(), lines)
            })
            .collect(),
        steps: tree,
        summary: stored.summary,
        plan,
    }))
}

impl PlanPage {
    fn href_id(&self) -> String {
        path_segment(&self.summary.id)
    }

    fn period(&self) -> String {
        period(self.ui, &self.summary)
    }

    fn is_draft(&self) -> bool {
        self.plan.plan.status == Some(machi_core::plans::PlanStatus::Draft)
    }
}

impl ListPage {
    fn period(&self, summary: &PlanSummary) -> String {
        period(self.ui, summary)
    }
}

#[derive(Template)]
#[template(path = "plan_revisions.html")]
struct RevisionsPage {
    ui: Ui,
    city: String,
    back: String,
    summary: PlanSummary,
    plan_href: String,
    revisions: Vec<RevisionRecord>,
}

impl RevisionsPage {
    fn when(&self, revision: &RevisionRecord) -> String {
        crate::kit::jst_text(revision.revised_at)
    }
}

/// 改定履歴: every import and edit of the plan recorded in machi, with the reason and the
/// headings that were added, removed or changed.
pub(crate) async fn revisions(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let stored = stored_plan(&state, &city, ui, &id).await?;
    let revisions = state.store.plan_revisions(&city.id, &id).await?;
    let plan_href = format!("/plans/{}", path_segment(&id));
    Ok(render(&RevisionsPage {
        ui,
        city: city_name(ui, &city),
        back: format!("{plan_href}/revisions"),
        summary: stored.summary,
        plan_href,
        revisions,
    }))
}
