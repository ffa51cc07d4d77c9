//! The plan's cycle in the staff console (`/staff/plans`): the CIO and the DX team import and
//! revise plans, set yearly action plans and evaluate; a department reports progress and KPI
//! actuals on the measures it owns. Every write is audited in the store.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use machi_core::notices::Problem;
use machi_core::plans::cycle::{
    grades, plan_years, read_action, read_evaluation, read_report, ALL_STATUSES,
};
use machi_core::plans::{parse_plan, Node};
use machi_store::plans::cycle::MeasureRef;
use machi_store::plans::PlanSummary;
use serde::Deserialize;

use super::measure::{find_node, measure_view, MeasureView, NodePath};
use super::standing::{default_fy, fy_label, standing};
use super::{load, path_segment, stored_plan};
use crate::kit::{render, see_other, Chrome, PageError, Signed};
use crate::AppState;

/// Largest plan file accepted (the largest seed plan is about 200 KB).
const PLAN_FILE_LIMIT: usize = 4 * 1024 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/plans", get(home))
        .route(
            "/staff/plans/import",
            post(import).layer(DefaultBodyLimit::max(PLAN_FILE_LIMIT + 64 * 1024)),
        )
        .route("/staff/plans/{id}/measures/{node}", get(measure))
        .route("/staff/plans/{id}/measures/{node}/report", post(report))
        .route("/staff/plans/{id}/measures/{node}/evaluate", post(evaluate))
        .route("/staff/plans/{id}/measures/{node}/action", post(action))
}

/// This person's department as plans may name it: its code and its Japanese name.
struct OwnDepartment {
    code: String,
    name: Option<String>,
}

impl OwnDepartment {
    /// Whether the department owns a measure: by the 所属コード printed in the plan, or by the
    /// department's name as the plan writes it.
    fn owns(&self, node: &Node) -> bool {
        node.owners.iter().any(|owner| {
            owner.code.as_deref() == Some(self.code.as_str())
                || self.name.as_deref() == Some(owner.name.as_str())
        })
    }
}

/// Looks the department up once per request (a plan has hundreds of measures to match).
async fn own_department(
    state: &AppState,
    signed: &Signed,
) -> Result<Option<OwnDepartment>, PageError> {
    let Some(code) = signed.session.user.department_code.clone() else {
        return Ok(None);
    };
    let departments = state.store.departments(&signed.city.id).await?;
    let name = departments
        .into_iter()
        .find(|d| d.code == code)
        .map(|d| d.ja);
    Ok(Some(OwnDepartment { code, name }))
}

/// Whether this person's department owns a measure.
async fn owns(state: &AppState, signed: &Signed, node: &Node) -> Result<bool, PageError> {
    Ok(own_department(state, signed)
        .await?
        .is_some_and(|own| own.owns(node)))
}

/// A measure of the home page's lists.
struct MeasureLink {
    href: String,
    plan: String,
    label: String,
    title: String,
    status: String,
}

#[derive(Template)]
#[template(path = "staff_plans.html")]
struct Home {
    chrome: Chrome,
    edits: bool,
    year: String,
    plans: Vec<(String, PlanSummary)>,
    own: Vec<MeasureLink>,
    to_evaluate: Vec<MeasureLink>,
    problems: Vec<String>,
    reason: String,
}

async fn home_page(
    state: &AppState,
    signed: &Signed,
    problems: Vec<String>,
    reason: String,
) -> Result<Home, PageError> {
    let role = signed.role();
    signed.require(role.reports_progress() || role.reads_audit_log())?;
    let summaries = state.store.plans(&signed.city.id).await?;
    let mut own = Vec::new();
    let mut to_evaluate = Vec::new();
    let mut year = String::new();
    let department = own_department(state, signed).await?;
    for summary in &summaries {
        let loaded = load(state, &signed.city, signed.ui, &summary.id).await?;
        let fy = default_fy(&plan_years(&loaded.plan));
        year = fy_label(signed.ui, fy);
        for (_, node) in loaded.plan.walk().into_iter().filter(|(_, n)| n.measure) {
            let s = standing(node, &loaded.cycle, fy);
            let link = MeasureLink {
                href: format!(
                    "/staff/plans/{}/measures/{}",
                    path_segment(&summary.id),
                    path_segment(&node.id)
                ),
                plan: summary.title.clone(),
                label: node.label.clone(),
                title: node.title.clone(),
                status: s
                    .status
                    .map(|st| st.label().to_string())
                    .unwrap_or_default(),
            };
            let reported = loaded.cycle.report(&node.id, fy);
            let evaluated = loaded.cycle.evaluation(&node.id, fy);
            let awaiting = match (reported, evaluated) {
                (Some(r), Some(e)) => r.reported_at > e.evaluated_at,
                (Some(_), None) => true,
                _ => false,
            };
            if role.edits_plans() && awaiting {
                to_evaluate.push(link);
            } else if !role.edits_plans() && department.as_ref().is_some_and(|d| d.owns(node)) {
                own.push(link);
            }
        }
    }
    Ok(Home {
        chrome: signed.chrome("/staff/plans"),
        edits: role.edits_plans(),
        year,
        plans: summaries
            .into_iter()
            .map(|s| (path_segment(&s.id), s))
            .collect(),
        own,
        to_evaluate,
        problems,
        reason,
    })
}

pub(crate) async fn home(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    Ok(render(
        &home_page(&state, &signed, Vec::new(), String::new()).await?,
    ))
}

/// Imports a plan file: a new plan, or a revision of one with the same id (the reason is
/// then required). A file with problems is shown back with every problem and changes nothing.
pub(crate) async fn import(
    State(state): State<AppState>,
    signed: Signed,
    request: Request,
) -> Result<Response, PageError> {
    signed.require(signed.role().edits_plans())?;
    let (pairs, uploads) = crate::kit::read_form(&state, request).await?;
    let reason = pairs
        .iter()
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| machi_core::text::clean_text(v.trim()))
        .unwrap_or_default();
    let file = uploads
        .into_iter()
        .find(|u| u.field == "file" && !u.bytes.is_empty());
    let ui = signed.ui;
    let mut problems = Vec::new();
    let plan = match &file {
        None => {
            problems.push(
                ui.t("計画ファイルを選んでください", "choose a plan file")
                    .to_string(),
            );
            None
        }
        Some(file) if file.bytes.len() > PLAN_FILE_LIMIT => {
            problems.push(
                ui.t("ファイルが大きすぎます（4MBまで）", "the file is over 4 MB")
                    .to_string(),
            );
            None
        }
        Some(file) => match parse_plan(&file.bytes) {
            Ok(plan) => Some(plan),
            Err(found) => {
                problems.extend(found);
                None
            }
        },
    };
    if let Some(plan) = &plan {
        let exists = state
            .store
            .plan(&signed.city.id, &plan.plan.id)
            .await?
            .is_some();
        if exists && reason.is_empty() {
            problems.push(
                ui.t(
                    "同じ ID の計画を改定します。改定の理由を入力してください",
                    "this revises a plan with the same id: give the reason",
                )
                .to_string(),
            );
        }
    }
    match plan {
        Some(plan) if problems.is_empty() => {
            let reason = if reason.is_empty() {
                ui.t("初版の取込", "First import").to_string()
            } else {
                reason
            };
            state
                .store
                .import_plan(&signed.city.id, &plan, signed.email(), &reason)
                .await?;
            Ok(see_other(&format!(
                "/plans/{}/revisions",
                path_segment(&plan.plan.id)
            )))
        }
        _ => {
            let page = home_page(&state, &signed, problems, reason).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

/// What the staff measure page's forms show: choices, values typed and problems.
#[derive(Default)]
struct Forms {
    fy: i32,
    status: String,
    narrative: String,
    evidence: String,
    actuals: Vec<(String, String, String, String)>,
    grade: String,
    comment: String,
    action: String,
    errors: Vec<(String, String)>,
    saved: String,
}

#[derive(Template)]
#[template(path = "staff_plan_measure.html")]
struct MeasurePage {
    chrome: Chrome,
    ui: crate::kit::Ui,
    m: MeasureView,
    can_report: bool,
    can_evaluate: bool,
    can_plan: bool,
    years: Vec<(i32, String)>,
    statuses: Vec<(String, String)>,
    grades: Vec<String>,
    f: Forms,
}

#[derive(Deserialize, Default)]
pub(crate) struct Saved {
    #[serde(default)]
    fy: String,
    #[serde(default)]
    saved: String,
}

async fn measure_page(
    state: &AppState,
    signed: &Signed,
    at: &NodePath,
    mut forms: Forms,
) -> Result<MeasurePage, PageError> {
    let ui = signed.ui;
    let loaded = load(state, &signed.city, ui, &at.id).await?;
    let node = find_node(ui, &loaded.plan, &at.node)?;
    let role = signed.role();
    let own = owns(state, signed, node).await?;
    let m = measure_view(ui, &loaded, node);
    let years = plan_years(&loaded.plan);
    if forms.fy == 0 {
        forms.fy = default_fy(&years);
    }
    if forms.actuals.is_empty() {
        forms.actuals = node
            .kpis
            .iter()
            .map(|k| {
                let recorded = loaded
                    .cycle
                    .actuals_of(&k.id)
                    .find(|a| a.fy == forms.fy)
                    .map(|a| a.value.clone())
                    .unwrap_or_default();
                (
                    format!("kpi_{}", k.id),
                    k.name.clone(),
                    k.unit.clone(),
                    recorded,
                )
            })
            .collect();
    }
    if forms.action.is_empty() {
        if let Some(action) = loaded.cycle.action(&node.id, forms.fy) {
            forms.action = action.text.clone();
        }
    }
    Ok(MeasurePage {
        chrome: signed.chrome(&format!("/staff{}", m.href)),
        ui,
        can_report: role.reports_progress() && (role.edits_plans() || own),
        can_evaluate: role.edits_plans(),
        can_plan: role.edits_plans() || (own && role.reports_progress()),
        years: years.iter().map(|y| (*y, fy_label(ui, *y))).collect(),
        statuses: ALL_STATUSES
            .iter()
            .map(|s| {
                (
                    s.key().to_string(),
                    ui.t(s.label(), s.english()).to_string(),
                )
            })
            .collect(),
        grades: grades(&loaded.plan),
        f: forms,
        m,
    })
}

pub(crate) async fn measure(
    State(state): State<AppState>,
    signed: Signed,
    Path(at): Path<NodePath>,
    Query(saved): Query<Saved>,
) -> Result<Response, PageError> {
    signed.require(signed.role().reports_progress() || signed.role().reads_audit_log())?;
    let forms = Forms {
        fy: saved.fy.parse().unwrap_or(0),
        saved: saved.saved,
        ..Forms::default()
    };
    Ok(render(&measure_page(&state, &signed, &at, forms).await?))
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn shown(ui: crate::kit::Ui, problems: Vec<Problem>) -> Vec<(String, String)> {
    problems
        .into_iter()
        .map(|(field, text)| (field.to_string(), ui.l(&text).to_string()))
        .collect()
}

/// The measure a form at `at` writes to, in this person's city.
fn measure_ref<'a>(signed: &'a Signed, at: &'a NodePath) -> MeasureRef<'a> {
    MeasureRef {
        tenant: &signed.city.id,
        plan: &at.id,
        node: &at.node,
    }
}

/// After a save: back to the measure with a note of what was saved.
fn saved(at: &NodePath, fy: i32, what: &str) -> Response {
    see_other(&format!(
        "/staff/plans/{}/measures/{}?fy={fy}&saved={what}#saved",
        path_segment(&at.id),
        path_segment(&at.node)
    ))
}

async fn invalid(
    state: &AppState,
    signed: &Signed,
    at: &NodePath,
    forms: Forms,
) -> Result<Response, PageError> {
    let page = measure_page(state, signed, at, forms).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

pub(crate) async fn report(
    State(state): State<AppState>,
    signed: Signed,
    Path(at): Path<NodePath>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    signed.require(signed.role().reports_progress())?;
    let loaded = stored_plan(&state, &signed.city, signed.ui, &at.id).await?;
    let node = find_node(signed.ui, &loaded.plan, &at.node)?;
    signed.require(signed.role().edits_plans() || owns(&state, &signed, node).await?)?;
    let actuals: Vec<(String, String)> = pairs
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("kpi_").map(|id| (id.to_string(), v.clone())))
        .collect();
    let checked = read_report(
        &loaded.plan,
        node,
        field(&pairs, "fy"),
        field(&pairs, "status"),
        field(&pairs, "narrative"),
        field(&pairs, "evidence"),
        &actuals,
    );
    match checked {
        Ok(input) => {
            let department = signed.session.user.department_code.as_deref();
            state
                .store
                .save_report(
                    measure_ref(&signed, &at),
                    &input,
                    department,
                    signed.email(),
                )
                .await?;
            Ok(saved(&at, input.fy, "report"))
        }
        Err(problems) => {
            let forms = Forms {
                fy: field(&pairs, "fy").parse().unwrap_or(0),
                status: field(&pairs, "status").to_string(),
                narrative: field(&pairs, "narrative").to_string(),
                evidence: field(&pairs, "evidence").to_string(),
                actuals: node
                    .kpis
                    .iter()
                    .map(|k| {
                        let name = format!("kpi_{}", k.id);
                        let typed = field(&pairs, &name).to_string();
                        (name, k.name.clone(), k.unit.clone(), typed)
                    })
                    .collect(),
                errors: shown(signed.ui, problems),
                ..Forms::default()
            };
            invalid(&state, &signed, &at, forms).await
        }
    }
}

pub(crate) async fn evaluate(
    State(state): State<AppState>,
    signed: Signed,
    Path(at): Path<NodePath>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    signed.require(signed.role().edits_plans())?;
    let loaded = stored_plan(&state, &signed.city, signed.ui, &at.id).await?;
    find_node(signed.ui, &loaded.plan, &at.node)?;
    let checked = read_evaluation(
        &loaded.plan,
        field(&pairs, "fy"),
        field(&pairs, "grade"),
        field(&pairs, "comment"),
    );
    match checked {
        Ok(input) => {
            state
                .store
                .save_evaluation(measure_ref(&signed, &at), &input, signed.email())
                .await?;
            Ok(saved(&at, input.fy, "evaluation"))
        }
        Err(problems) => {
            let forms = Forms {
                fy: field(&pairs, "fy").parse().unwrap_or(0),
                grade: field(&pairs, "grade").to_string(),
                comment: field(&pairs, "comment").to_string(),
                errors: shown(signed.ui, problems),
                ..Forms::default()
            };
            invalid(&state, &signed, &at, forms).await
        }
    }
}

pub(crate) async fn action(
    State(state): State<AppState>,
    signed: Signed,
    Path(at): Path<NodePath>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    signed.require(signed.role().reports_progress())?;
    let loaded = stored_plan(&state, &signed.city, signed.ui, &at.id).await?;
    let node = find_node(signed.ui, &loaded.plan, &at.node)?;
    signed.require(signed.role().edits_plans() || owns(&state, &signed, node).await?)?;
    match read_action(&loaded.plan, field(&pairs, "fy"), field(&pairs, "action")) {
        Ok((fy, text)) => {
            state
                .store
                .save_action(measure_ref(&signed, &at), fy, &text, signed.email())
                .await?;
            Ok(saved(&at, fy, "action"))
        }
        Err(problems) => {
            let forms = Forms {
                fy: field(&pairs, "fy").parse().unwrap_or(0),
                action: field(&pairs, "action").to_string(),
                errors: shown(signed.ui, problems),
                ..Forms::default()
            };
            invalid(&state, &signed, &at, forms).await
        }
    }
}

impl MeasurePage {
    fn saved_text(&self) -> &'static str {
        match self.f.saved.as_str() {
            "report" => self
                .ui
                .t("進捗報告を保存しました。", "Progress report saved."),
            "evaluation" => self.ui.t("評価を保存しました。", "Evaluation saved."),
            "action" => self.ui.t("実行計画を保存しました。", "Action plan saved."),
            _ => "",
        }
    }
}
