//! 情報資産台帳 (the IT asset ledger) in the staff console under `/staff/assets`: the list with
//! its filters and upcoming deadlines, the form, CSV import and export, and the cost per
//! department and fiscal year.
//!
//! Who sees what: the CIO and the DX team (admin) edit every system and the auditor reads every
//! one; a department's managers and staff see and report on their own department's systems
//! only (403 for another's). The counter role has no business here.

pub(crate) mod api;
mod csv;
mod edit;

use self::csv::{export, import, import_form, MAX_CSV_BYTES};
use edit::{create, edit_form, new_form, update};

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{Duration, NaiveDate};
use machi_core::assets::{cost_table, fiscal_year, Asset, Context, Hosting, MigrationStatus};
use machi_store::assets::AssetFilter;
use serde::Deserialize;

use crate::kit::{render, thousands, Chrome, PageError, Signed};
use crate::AppState;

/// Days ahead the list shows deadlines for (the first reminder's window).
const UPCOMING_DAYS: i64 = 90;
/// Most fiscal years the cost table spans.
const MAX_YEARS: i32 = 10;

use machi_core::wareki::today_jst;

/// The ledger's pages, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/assets", get(list).post(create))
        .route("/staff/assets/new", get(new_form))
        .route("/staff/assets/costs", get(costs))
        .route("/staff/assets/export", get(export))
        .route(
            "/staff/assets/import",
            get(import_form)
                .post(import)
                .layer(DefaultBodyLimit::max(MAX_CSV_BYTES)),
        )
        .route("/staff/assets/{id}", post(update))
        .route("/staff/assets/{id}/edit", get(edit_form))
}

/// The ledger's JSON API (staff only), relative to `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new().route("/assets", get(api::list_assets))
}

/// The department whose systems this person sees (`None`: every department).
pub(crate) fn read_scope(signed: &Signed) -> Result<Option<String>, PageError> {
    signed.require(signed.role().reads_assets())?;
    if signed.role().reads_all_assets() {
        return Ok(None);
    }
    Ok(Some(signed.department()?.to_string()))
}

/// The department whose systems this person may change (`None`: every department).
fn write_scope(signed: &Signed) -> Result<Option<String>, PageError> {
    signed.require(signed.role().edits_assets())?;
    if signed.role().edits_all_assets() {
        return Ok(None);
    }
    Ok(Some(signed.department()?.to_string()))
}

/// Department names by code.
async fn department_names(
    state: &AppState,
    signed: &Signed,
) -> Result<BTreeMap<String, String>, PageError> {
    Ok(state
        .store
        .departments(&signed.city.id)
        .await?
        .into_iter()
        .map(|d| (d.code, d.ja))
        .collect())
}

/// What a written system is checked against, for this person.
async fn write_context(
    state: &AppState,
    signed: &Signed,
    scope: Option<&str>,
) -> Result<Context, PageError> {
    Ok(Context {
        departments: department_names(state, signed).await?,
        writable: scope.map(|own| [own.to_string()].into_iter().collect()),
        measures: state.store.plan_measures(&signed.city.id).await?,
    })
}

/// The list's filters, as the query string gives them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ListParams {
    department: String,
    hosting: String,
    standard: String,
    within: String,
}

impl ListParams {
    fn filter(&self, scope: Option<String>) -> AssetFilter {
        let within = self.within.trim().parse::<i64>().ok().filter(|d| *d >= 0);
        let today = today_jst();
        AssetFilter {
            department: scope.or_else(|| Some(self.department.clone()).filter(|d| !d.is_empty())),
            hosting: Hosting::parse(&self.hosting),
            standard_only: !self.standard.is_empty(),
            deadline_between: within.map(|days| (today, today + Duration::days(days))),
        }
    }
}

struct Row {
    id: String,
    name: String,
    department: String,
    hosting: String,
    business: String,
    migration: String,
    contract_end: String,
    end_of_life: String,
    cost: String,
    editable: bool,
}

struct Upcoming {
    date: String,
    days_left: i64,
    what: String,
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "staff_assets.html")]
struct ListPage {
    chrome: Chrome,
    params: ListParams,
    departments: Vec<(String, String)>,
    hostings: Vec<(String, String)>,
    rows: Vec<Row>,
    upcoming: Vec<Upcoming>,
    edits: bool,
    export_query: String,
}

fn row(signed: &Signed, asset: &Asset, names: &BTreeMap<String, String>) -> Row {
    let ui = signed.ui;
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let editable = signed.role().edits_all_assets()
        || (signed.role().edits_assets()
            && signed.session.user.department_code.as_deref() == Some(&asset.department));
    Row {
        id: asset.id.clone(),
        name: asset.name.clone(),
        department: names.get(&asset.department).cloned().unwrap_or_default(),
        hosting: ui.l(&asset.hosting.label()).to_string(),
        business: asset
            .standard_business
            .map(|b| b.label().to_string())
            .unwrap_or_default(),
        migration: if asset.migration == MigrationStatus::NotApplicable {
            String::new()
        } else {
            ui.l(&asset.migration.label()).to_string()
        },
        contract_end: day(asset.contract_end),
        end_of_life: day(asset.end_of_life),
        cost: asset.yearly_cost.map(thousands).unwrap_or_default(),
        editable,
    }
}

/// Deadlines in the next [`UPCOMING_DAYS`], soonest first.
fn upcoming(signed: &Signed, assets: &[Asset], today: NaiveDate) -> Vec<Upcoming> {
    let mut list: Vec<Upcoming> = assets
        .iter()
        .flat_map(|asset| {
            asset
                .deadlines()
                .into_iter()
                .filter_map(move |(kind, date)| {
                    let days_left = (date - today).num_days();
                    (0..=UPCOMING_DAYS).contains(&days_left).then(|| Upcoming {
                        date: date.to_string(),
                        days_left,
                        what: signed.ui.l(&kind.label()).to_string(),
                        id: asset.id.clone(),
                        name: asset.name.clone(),
                    })
                })
        })
        .collect();
    list.sort_by(|a, b| a.date.cmp(&b.date).then(a.id.cmp(&b.id)));
    list
}

async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let scope = read_scope(&signed)?;
    let names = department_names(&state, &signed).await?;
    let shown = state
        .store
        .assets(&signed.city.id, &params.filter(scope.clone()))
        .await?;
    let all = AssetFilter {
        department: scope.clone(),
        ..Default::default()
    };
    let visible = state.store.assets(&signed.city.id, &all).await?;
    let ui = signed.ui;
    let page = ListPage {
        chrome: signed.chrome("/staff/assets"),
        departments: names
            .iter()
            .filter(|(code, _)| scope.as_deref().is_none_or(|own| own == code.as_str()))
            .map(|(code, name)| (code.clone(), name.clone()))
            .collect(),
        hostings: Hosting::all()
            .into_iter()
            .map(|h| (h.as_str().to_string(), ui.l(&h.label()).to_string()))
            .collect(),
        rows: shown.iter().map(|a| row(&signed, a, &names)).collect(),
        upcoming: upcoming(&signed, &visible, today_jst()),
        edits: signed.role().edits_assets(),
        export_query: serde_urlencoded::to_string([
            ("department", params.department.as_str()),
            ("hosting", params.hosting.as_str()),
            ("standard", params.standard.as_str()),
            ("within", params.within.as_str()),
        ])
        .unwrap_or_default(),
        params,
    };
    Ok(render(&page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CostParams {
    from: String,
    to: String,
}

struct CostLine {
    department: String,
    cells: Vec<String>,
    total: String,
}

#[derive(Template)]
#[template(path = "staff_assets_costs.html")]
struct CostPage {
    chrome: Chrome,
    years: Vec<i32>,
    lines: Vec<CostLine>,
    totals: Vec<String>,
    grand_total: String,
    from: i32,
    to: i32,
}

/// The fiscal years of the table: as asked, else last year to three years ahead.
fn cost_years(params: &CostParams, today: NaiveDate) -> (i32, i32) {
    let current = fiscal_year(today);
    let from = params.from.trim().parse().unwrap_or(current - 1);
    let to = params.to.trim().parse().unwrap_or(current + 3);
    let to = to.clamp(from, from + MAX_YEARS - 1);
    (from, to)
}

async fn costs(
    State(state): State<AppState>,
    signed: Signed,
    Query(params): Query<CostParams>,
) -> Result<Response, PageError> {
    let scope = read_scope(&signed)?;
    let names = department_names(&state, &signed).await?;
    let filter = AssetFilter {
        department: scope,
        ..Default::default()
    };
    let assets = state.store.assets(&signed.city.id, &filter).await?;
    let (from, to) = cost_years(&params, today_jst());
    let (rows, totals) = cost_table(&assets, from, to);
    Ok(render(&CostPage {
        chrome: signed.chrome("/staff/assets/costs"),
        years: (from..=to).collect(),
        lines: rows
            .into_iter()
            .map(|r| CostLine {
                department: names.get(&r.department).cloned().unwrap_or(r.department),
                cells: r.per_year.into_iter().map(thousands).collect(),
                total: thousands(r.total),
            })
            .collect(),
        grand_total: thousands(totals.iter().sum()),
        totals: totals.into_iter().map(thousands).collect(),
        from,
        to,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_table_spans_last_year_to_three_ahead_unless_asked() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default();
        assert_eq!(cost_years(&CostParams::default(), today), (2025, 2029));
        let asked = CostParams {
            from: "2020".into(),
            to: "2050".into(),
        };
        assert_eq!(cost_years(&asked, today), (2020, 2029));
    }
}
